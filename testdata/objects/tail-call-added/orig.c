extern int submit(int);
extern int queue_len(void);

int handle_req(int req)
{
	if (req > 0)
		return submit(req);
	return -22;
}

int queue_empty(void)
{
	return queue_len() == 0;
}
