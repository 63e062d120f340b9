/*
 * counters.c — names for counters and drop reasons.
 */
#include "core/counters.h"

#define RV_NAME_ENTRY(name, str) [name] = str,

static const char *const drop_names[RV_DROP_MAX] = { RV_DROP_REASONS(RV_NAME_ENTRY) };
static const char *const counter_names[RV_CTR_MAX] = { RV_COUNTERS(RV_NAME_ENTRY) };
static const char *const gauge_names[RV_GAUGE_MAX] = { RV_GAUGES(RV_NAME_ENTRY) };

const char *rv_drop_name(enum rv_drop_reason r)
{
	return (unsigned)r < RV_DROP_MAX ? drop_names[r] : "?";
}

const char *rv_counter_name(enum rv_counter c)
{
	return (unsigned)c < RV_CTR_MAX ? counter_names[c] : "?";
}

const char *rv_gauge_name(enum rv_gauge g)
{
	return (unsigned)g < RV_GAUGE_MAX ? gauge_names[g] : "?";
}
