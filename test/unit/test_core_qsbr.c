/*
 * test_core_qsbr.c — grace periods: a retired object is freed only after
 * every online reader has passed a quiescent point; offline readers never
 * hold reclamation up; synchronize waits for a lagging reader.
 *
 *   ./build/<dir>/test/test_core_qsbr --verbose
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include <criterion/criterion.h>

#include "core/compiler.h"
#include "core/qsbr.h"

struct obj {
	struct rv_qsbr_node node;
	int id;
};

static int freed_order[16];
static int num_freed;

static void obj_free(struct rv_qsbr_node *n)
{
	struct obj *o = container_of(n, struct obj, node);

	freed_order[num_freed++] = o->id;
}

Test(qsbr, register_limits)
{
	struct rv_qsbr *q = rv_qsbr_new(2);
	unsigned a, b, c;

	cr_assert_not_null(q);
	cr_assert_eq(rv_qsbr_register(q, &a), 0);
	cr_assert_eq(rv_qsbr_register(q, &b), 0);
	cr_assert_neq(a, b);
	cr_assert_eq(rv_qsbr_register(q, &c), -ENOSPC);
	rv_qsbr_unregister(q, a);
	cr_assert_eq(rv_qsbr_register(q, &c), 0);
	cr_assert_eq(c, a);
	rv_qsbr_free(q);
	rv_qsbr_free(NULL);
	cr_assert_null(rv_qsbr_new(0));
}

/* One fake reader that stays non-quiescent pins every object retired
 * after its last quiescent point; once it quiesces they go, in order. */
Test(qsbr, retire_waits_for_reader)
{
	struct rv_qsbr *q = rv_qsbr_new(4);
	struct obj o[3] = { { .id = 1 }, { .id = 2 }, { .id = 3 } };
	unsigned r1, r2;

	num_freed = 0;
	cr_assert_eq(rv_qsbr_register(q, &r1), 0);
	cr_assert_eq(rv_qsbr_register(q, &r2), 0);

	rv_qsbr_retire(q, &o[0].node, obj_free);
	rv_qsbr_retire(q, &o[1].node, obj_free);
	cr_assert_eq(rv_qsbr_pending(q), 2u);
	cr_assert_eq(rv_qsbr_reclaim(q), 0u);

	/* r2 passes a quiescent point, r1 does not: nothing may go. */
	rv_qsbr_quiescent(q, r2);
	cr_assert_eq(rv_qsbr_reclaim(q), 0u);
	cr_assert_eq(num_freed, 0);

	rv_qsbr_quiescent(q, r1);
	/* o[2] retired after both quiesced: pinned again until they do. */
	rv_qsbr_retire(q, &o[2].node, obj_free);
	cr_assert_eq(rv_qsbr_reclaim(q), 2u);
	cr_assert_eq(num_freed, 2);
	cr_assert_eq(freed_order[0], 1);
	cr_assert_eq(freed_order[1], 2);
	cr_assert_eq(rv_qsbr_pending(q), 1u);

	/* An offline reader does not hold anything up. */
	rv_qsbr_offline(q, r1);
	cr_assert_eq(rv_qsbr_reclaim(q), 0u);
	rv_qsbr_quiescent(q, r2);
	cr_assert_eq(rv_qsbr_reclaim(q), 1u);
	cr_assert_eq(freed_order[2], 3);
	cr_assert_eq(rv_qsbr_pending(q), 0u);

	/* Coming back online, it pins what is retired from then on. */
	rv_qsbr_online(q, r1);
	rv_qsbr_retire(q, &o[0].node, obj_free);
	rv_qsbr_quiescent(q, r2);
	cr_assert_eq(rv_qsbr_reclaim(q), 0u);
	rv_qsbr_quiescent(q, r1);
	cr_assert_eq(rv_qsbr_reclaim(q), 1u);

	/* free reclaims what is left. */
	rv_qsbr_retire(q, &o[1].node, obj_free);
	rv_qsbr_free(q);
	cr_assert_eq(num_freed, 5);
}

Test(qsbr, synchronize_no_readers_or_offline)
{
	struct rv_qsbr *q = rv_qsbr_new(8);
	unsigned r;

	rv_qsbr_synchronize(q); /* nobody registered */
	cr_assert_eq(rv_qsbr_register(q, &r), 0);
	rv_qsbr_offline(q, r);
	rv_qsbr_synchronize(q); /* offline: must not wait */
	rv_qsbr_online(q, r);
	rv_qsbr_unregister(q, r);
	rv_qsbr_synchronize(q);
	rv_qsbr_free(q);
}

struct sync_arg {
	struct rv_qsbr *q;
	atomic_bool done;
};

static void *sync_thread(void *p)
{
	struct sync_arg *a = p;

	rv_qsbr_synchronize(a->q);
	atomic_store(&a->done, true);
	return NULL;
}

/* synchronize blocks while a reader lags, and returns once it quiesces. */
Test(qsbr, synchronize_waits_for_lagging_reader, .timeout = 10)
{
	struct sync_arg a = { .q = rv_qsbr_new(2) };
	struct timespec ts = { .tv_nsec = 50 * 1000 * 1000 };
	pthread_t th;
	unsigned r;

	cr_assert_eq(rv_qsbr_register(a.q, &r), 0);
	pthread_create(&th, NULL, sync_thread, &a);
	nanosleep(&ts, NULL);
	cr_assert_not(atomic_load(&a.done), "synchronize returned while a reader lagged");
	rv_qsbr_quiescent(a.q, r);
	pthread_join(th, NULL);
	cr_assert(atomic_load(&a.done));

	/* Same with going offline instead of quiescing. */
	atomic_store(&a.done, false);
	pthread_create(&th, NULL, sync_thread, &a);
	nanosleep(&ts, NULL);
	cr_assert_not(atomic_load(&a.done));
	rv_qsbr_offline(a.q, r);
	pthread_join(th, NULL);
	cr_assert(atomic_load(&a.done));
	rv_qsbr_free(a.q);
}
