#ifndef DRV_LIMITS_H
#define DRV_LIMITS_H

#define DRV_LIMIT 64

#endif
