/*
 * cluster.h
 *		Whether a table of wib is a Citus table, asked on hot paths.
 */
#ifndef WIB_CLUSTER_H
#define WIB_CLUSTER_H

/*
 * True when relid is a Citus distributed or reference table (its rows are on
 * the shards, not in the relation itself); false without Citus.
 */
extern bool cluster_is_distributed(Oid relid);

#endif							/* WIB_CLUSTER_H */
