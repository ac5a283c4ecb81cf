/* See harness.h. Prints "thread <name> <tid> <where>" per thread, then "ready <pid>". */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"

#define MAX_THREADS 32
/* Backstop only: the test kills the program as soon as it has read the stacks. */
#define LIFETIME_SECONDS 300
#define READY_TIMEOUT_SECONDS 60

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t progress = PTHREAD_COND_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int blocked;
static long tids[MAX_THREADS];
static const char *places[MAX_THREADS];
static __thread int self = -1;

int harness_is(const char *name)
{
	return self >= 0 && strcmp(harness_threads[self].name, name) == 0;
}

void harness_block(const char *where)
{
	pthread_mutex_lock(&lock);
	if (self < 0) {
		fprintf(stderr, "harness_block(%s) called outside a harness thread\n", where);
		exit(4);
	}
	tids[self] = syscall(SYS_gettid);
	places[self] = where;
	blocked++;
	pthread_cond_broadcast(&progress);
	/* Releases the lock inside the wait: main() reads the records only once we sleep. */
	for (;;)
		pthread_cond_wait(&never, &lock);
}

static void *harness_thread_main(void *arg)
{
	self = (int)(long)arg;
	harness_threads[self].run();
	harness_block("returned");
	return NULL;
}

int main(void)
{
	pthread_t thread;
	struct timespec deadline;
	int n, i, err;

	/* Die with the test runner, or after LIFETIME_SECONDS at the latest. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(LIFETIME_SECONDS);
	for (n = 0; harness_threads[n].name; n++)
		;
	if (n == 0 || n > MAX_THREADS) {
		fprintf(stderr, "bad thread count %d\n", n);
		return 2;
	}
	for (i = 0; i < n; i++) {
		err = pthread_create(&thread, NULL, harness_thread_main, (void *)(long)i);
		if (err) {
			fprintf(stderr, "pthread_create: %s\n", strerror(err));
			return 2;
		}
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += READY_TIMEOUT_SECONDS;
	pthread_mutex_lock(&lock);
	while (blocked < n) {
		err = pthread_cond_timedwait(&progress, &lock, &deadline);
		if (err == ETIMEDOUT) {
			fprintf(stderr, "only %d of %d threads blocked\n", blocked, n);
			return 3;
		}
	}
	for (i = 0; i < n; i++)
		printf("thread %s %ld %s\n", harness_threads[i].name, tids[i], places[i]);
	printf("ready %ld\n", (long)getpid());
	fflush(stdout);
	pthread_mutex_unlock(&lock);
	for (;;)
		pause();
}
