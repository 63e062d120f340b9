/*
 * test_cli_privdrop.c — the per-thread part of the drop (cli/privdrop.c
 * rv_privdrop_threads): every other thread runs the handler that empties
 * its capabilities, and a thread that ends between its signal and its
 * handler is not waited for. The client's resolver thread ended so after a
 * lookup of "localhost": the drop waited its full 5 s, the client came up
 * 5 s late and a test's 10 s wait ran out in CI (stop 54). Each case runs
 * in a child of its own, which has no thread but the ones it starts
 * (Criterion's own threads in the test's process take no SIGRTMIN); as
 * root, those threads lose their capabilities.
 *
 *   build/<dir>/test/test_cli_privdrop
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../cli/privdrop.c"
#include "../../cli/say.c"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static _Atomic bool ready, stop;
static _Atomic pid_t idle_tids[3];

/* A thread that takes SIGRTMIN: its handler runs at once. */
static void *idle_thread(void *arg)
{
	atomic_store(&idle_tids[(intptr_t)arg], (pid_t)syscall(SYS_gettid));
	while (!atomic_load(&stop)) {
		struct timespec ms = { 0, 1000000 };

		nanosleep(&ms, NULL);
	}
	return NULL;
}

/* A thread with SIGRTMIN blocked that ends 300 ms after it starts, as a
 * thread on its way out (glibc blocks every signal there) runs no handler. */
static void *leaving_thread(void *arg)
{
	sigset_t set;
	struct timespec t = { 0, 300 * 1000000 };

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	atomic_store(&ready, true);
	nanosleep(&t, NULL);
	return NULL;
}

/* in_child runs |fn| in a child process and returns its exit status (fn's
 * result), or -1 when it did not exit. */
static int in_child(int (*fn)(void))
{
	int status = 0;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		_exit(fn());
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* timed_drop runs rv_privdrop_threads: 0, or 1 said on stderr; its
 * seconds in |took|. */
static int timed_drop(double *took)
{
	char err[256] = "";
	double t0 = now_s();
	int ret = rv_privdrop_threads(err, sizeof(err));

	*took = now_s() - t0;
	if (ret != 0) {
		fprintf(stderr, "drop: %s\n", err);
		return 1;
	}
	return 0;
}

static int drop_with_idle_threads(void)
{
	pthread_t th[3];
	double took;
	int ret;

	for (intptr_t i = 0; i < 3; i++) {
		if (pthread_create(&th[i], NULL, idle_thread, (void *)i) != 0) {
			return 10;
		}
	}
	for (int i = 0; i < 3; i++) {
		while (atomic_load(&idle_tids[i]) == 0) {
			usleep(1000);
		}
	}
	ret = timed_drop(&took);
	if (atomic_load(&threads_dropped) != 3 || atomic_load(&threads_failed) != 0) {
		fprintf(stderr, "%u dropped, %u failed\n", atomic_load(&threads_dropped),
			atomic_load(&threads_failed));
		ret = ret ? ret : 2;
	}
	/* Each by its id (as root, their capabilities are gone). */
	for (int i = 0; i < 3; i++) {
		pid_t tid = atomic_load(&idle_tids[i]);

		if (!thread_settled(tid, false) || thread_has_caps(tid)) {
			fprintf(stderr, "thread %d (%d) not dropped\n", i, (int)tid);
			ret = ret ? ret : 3;
		}
	}
	if (took >= 2.0) {
		fprintf(stderr, "the drop took %.2f s\n", took);
		ret = ret ? ret : 4;
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
	}
	return ret;
}

Test(privdrop, every_other_thread_runs_the_handler)
{
	cr_assert_eq(in_child(drop_with_idle_threads), 0);
}

static int drop_beside_a_leaving_thread(void)
{
	pthread_t th;
	double took;
	int ret;

	if (pthread_create(&th, NULL, leaving_thread, NULL) != 0) {
		return 10;
	}
	while (!atomic_load(&ready)) {
		usleep(1000);
	}
	ret = timed_drop(&took);
	pthread_join(th, NULL);
	/* It ends 300 ms after it started; the wait for a handler that never
	 * runs is 5 s. */
	if (took >= 3.0) {
		fprintf(stderr, "the drop waited %.2f s for a thread that had ended\n", took);
		ret = ret ? ret : 4;
	}
	return ret;
}

Test(privdrop, a_thread_that_ends_before_its_handler_is_not_waited_for)
{
	cr_assert_eq(in_child(drop_beside_a_leaving_thread), 0);
}
