#ifndef DRV_H
#define DRV_H

#define DRV_BIAS 1

#endif
