int api(int x);
int api_c(int x);

int user(int x)
{
	return api(x) * 2 + api_c(x);
}
