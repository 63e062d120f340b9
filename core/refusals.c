/*
 * refusals.c — spells of refused UDP sends (see refusals.h).
 */
#include "core/refusals.h"

#include <string.h>

void rv_refusals_init(struct rv_refusals *r, rv_refusal_say_fn *say, void *arg)
{
	memset(r, 0, sizeof(*r));
	r->say = say;
	r->arg = arg;
}

static bool quiet(const struct rv_refusal_spell *sp, uint64_t now_ns)
{
	return now_ns > sp->last_ns && now_ns - sp->last_ns >= RV_REFUSAL_QUIET_NS;
}

/* end_spell ends |sp| for |why| at its last refusal, saying what its begin
 * line did not, or holding it back for the HELD line when the rate is
 * spent. */
static void end_spell(struct rv_refusals *r, struct rv_refusal_spell *sp, enum rv_refusal_end why,
		      uint64_t now_ns)
{
	uint64_t untold = sp->n + (sp->unsaid ? sp->first : 0);

	if (untold != 0 && !rv_ratelimit_ok_at(&r->rl, now_ns)) {
		r->held_n += untold;
		r->held_spells++;
	} else if (untold != 0) {
		r->say(r->arg, &(struct rv_refusal_line){
				       .kind = RV_REFUSAL_ENDS,
				       .why = why,
				       .sess = sp->sess,
				       .err = sp->err,
				       .n = untold,
				       .unsaid = sp->unsaid,
				       .lasted_ns = sp->last_ns - sp->since_ns,
			       });
	}
	sp->err = 0;
	r->num--;
}

void rv_refusals_note(struct rv_refusals *r, uint32_t sess, int err, uint64_t n, uint64_t now_ns,
		      const char *who, const char *how)
{
	struct rv_refusal_spell *sp = NULL, *free_sp = NULL;

	for (unsigned i = 0; i < RV_REFUSAL_SPELLS; i++) {
		struct rv_refusal_spell *e = &r->spells[i];

		if (e->err == 0) {
			free_sp = free_sp ? free_sp : e;
		} else if (e->sess == sess) {
			sp = e;
		}
	}
	if (sp != NULL && sp->err == err) {
		sp->n += n;
		sp->last_ns = now_ns;
		return;
	}
	if (sp != NULL) {
		end_spell(r, sp, RV_REFUSAL_OTHER_REASON, now_ns);
	} else if (free_sp != NULL) {
		sp = free_sp;
	} else {
		if (r->spill.err == 0) {
			r->spill = (struct rv_refusal_spell){ .err = err, .since_ns = now_ns };
			r->num++;
			r->say(r->arg, &(struct rv_refusal_line){
					       .kind = RV_REFUSAL_SPILL_BEGINS,
					       .err = err,
					       .who = who,
				       });
		}
		r->spill.n += n;
		r->spill.last_ns = now_ns;
		return;
	}
	*sp = (struct rv_refusal_spell){
		.sess = sess, .err = err, .first = n, .since_ns = now_ns, .last_ns = now_ns
	};
	r->num++;
	if (!rv_ratelimit_ok_at(&r->rl, now_ns)) {
		sp->unsaid = true; /* its end says these too */
		return;
	}
	r->say(r->arg, &(struct rv_refusal_line){
			       .kind = RV_REFUSAL_BEGINS,
			       .sess = sess,
			       .err = err,
			       .n = n,
			       .who = who,
			       .how = how,
		       });
}

void rv_refusals_pass(struct rv_refusals *r, uint32_t sess, uint64_t now_ns)
{
	for (unsigned i = 0; i < RV_REFUSAL_SPELLS; i++) {
		struct rv_refusal_spell *e = &r->spells[i];

		if (e->err != 0 && e->sess == sess) {
			e->last_ns = now_ns;
			end_spell(r, e, RV_REFUSAL_PASSED, now_ns);
			return;
		}
	}
}

void rv_refusals_sweep(struct rv_refusals *r, uint64_t now_ns, bool all)
{
	enum rv_refusal_end why = all ? RV_REFUSAL_STOPPING : RV_REFUSAL_QUIET;

	if (r->spill.err != 0 && (all || quiet(&r->spill, now_ns))) {
		r->say(r->arg, &(struct rv_refusal_line){
				       .kind = RV_REFUSAL_SPILL_ENDS,
				       .why = why,
				       .n = r->spill.n,
				       .lasted_ns = r->spill.last_ns - r->spill.since_ns,
			       });
		r->spill.err = 0;
		r->num--;
	}
	for (unsigned i = 0; i < RV_REFUSAL_SPELLS; i++) {
		struct rv_refusal_spell *e = &r->spells[i];

		if (e->err != 0 && (all || quiet(e, now_ns))) {
			end_spell(r, e, why, now_ns);
		}
	}
	/* Last: the ends above may have been held back too. */
	if (r->held_spells != 0 && (all || rv_ratelimit_ok_at(&r->rl, now_ns))) {
		r->say(r->arg, &(struct rv_refusal_line){
				       .kind = RV_REFUSAL_HELD,
				       .n = r->held_n,
				       .spells = r->held_spells,
			       });
		r->held_n = 0;
		r->held_spells = 0;
	}
}
