extern void log_msg(const char *);
extern int hw_get(int);
extern void hw_set(int, int);

int get_mode(int dev)
{
	int m = hw_get(dev);

	if (m < 0)
		log_msg("invalid argument");
	return m;
}

void set_mode(int dev, int mode)
{
	if (mode > 3) {
		log_msg("invalid argument");
		return;
	}
	hw_set(dev, mode);
}

void reset_dev(int dev)
{
	log_msg("resetting device");
	hw_set(dev, 0);
}
