// SPDX-License-Identifier: GPL-2.0
/*
 * Targeted races of the masstree core, round after round on a small map,
 * each window held open through the core's test hooks:
 *
 * first    Threads race to insert the first key of an empty map. Every
 *          other round the winner is held after it published the root
 *          and before it filled it (MASSTREE_HOOK_NEW_ROOT) until another
 *          writer finished, or a bound passed: a writer that found the
 *          root meanwhile must wait for its lock, not write beside it.
 * layer    Threads race to insert keys that share 8 or 16 bytes under a
 *          key of the same prefix (the first of them turns its slot into
 *          a new layer), or into a layer whose last key another thread
 *          erases (the layer goes away under them; the layer is left with
 *          one key by failing the allocation of the erase that would fold
 *          it). Writers are held between their walk and their leaf lock
 *          (LOCK_LEAF) until another writer finished: the slot they found
 *          changed.
 * collapse Two keys share 24 bytes (a span of 16 bytes in the top slot,
 *          above one layer); one of them is erased and that layer folds
 *          back into the top layer's slot as the survivor's suffix. The
 *          eraser is held with the suffix built, both leaves locked and
 *          the slot not yet switched (COLLAPSE) until both writers reached
 *          the locked layer's leaf (after the switch they find it deleted
 *          and start over) and a reader loaded the survivor through it
 *          twice, or a bound passed, while a reader loads the survivor and
 *          its neighbour (which must always be found), another walks the
 *          map with a cursor (each stable key exactly once, the new ones
 *          at most once), and two writers, started once the eraser is
 *          held, insert keys that share the span again (the slot turns
 *          into a span and a layer again). The eraser is held again inside
 *          the slot's switch (DIRTY), where readers must wait.
 * span-merge The same keys and a third, erased, that leaves the span at
 *          its first slice: the top slot leads to a layer at offset 8
 *          holding it and a span of 8 bytes to the survivors' layer. The
 *          erase leaves that layer one entry, a way down, which merges
 *          into the top slot as one span of 16 bytes. The eraser is held
 *          with the new span built and the lower layer's root already
 *          naming it (SPAN_MERGE) until both writers inserted their keys
 *          into the survivors' layer through the old way and a reader
 *          loaded the survivor twice, or a bound passed; then inside the
 *          switch (DIRTY); readers and the cursor as in collapse.
 * split    One writer splits the full leftmost leaf of a root internode
 *          with a key smaller than all (the new key lands in the left
 *          half, reusing a slot that readers may still search) while
 *          readers load the keys of that leaf, the keys that move to the
 *          new leaf (their child index moves) and the keys right of it
 *          (their child index shifts by one), and seek to them with a
 *          cursor. The writer is held before each node turns dirty
 *          (MARK), inside the split's and the internode insert's dirty
 *          windows (DIRTY) and before the parent learns of the split
 *          (SPLIT) until every reader has finished a lookup it started
 *          inside the window, or a bound passed. Before it marks the
 *          leaf it also waits for reader 1's first lookup, of a key
 *          that moves right, to stand in the leaf's read window (READ),
 *          held there until the split is done: its version check must
 *          see the split and look right. Every key the readers look up
 *          is present throughout and must be found.
 * parent   Two writers split full leaves under a full root internode:
 *          one, its nodes reserved, is held between reading its leaf's
 *          parent and locking it (LOCK_PARENT) while the other's split
 *          splits the root, which moves the first one's leaf to a new
 *          internode: the first must find out, once it has the lock, that
 *          it locked a node that is no longer the parent.
 * handoff  The walk's locked-leaf rule. Worker 1 inserts a key into
 *          leaf 7 of sixteen under a full root internode and is held
 *          in that leaf's read window (READ) while worker 0 splits the
 *          leaf, which splits the root too and makes the new right half
 *          the first child of its internode, then erases every key of
 *          that half: the erase hands the empty leaf's range to its
 *          right neighbour (lowers the neighbour's lower bound) and is
 *          held right after (MARK of the left neighbour), the empty leaf
 *          locked but not yet deleted and its parent not yet changed.
 *          Worker 1, let go, finds its leaf split (B-link allowed),
 *          moves right through the locked empty leaf to the neighbour
 *          and inserts there; then worker 2 looks the key up from the
 *          top: its parent still leads it to the locked empty leaf, and
 *          only the rule (a leaf locked at its recheck may have handed
 *          its range right) takes it on to the key.
 * merge    The leftmost leaf (15 keys) and its right neighbour (3 keys)
 *          under the root internode. One writer erases 12 keys of the
 *          leftmost leaf; the last erase leaves it with 3, and it takes
 *          in its neighbour's keys (a leaf merge) into slots the erases
 *          freed. Reader 1 is held after it loaded the leftmost leaf's
 *          permutation (READ, full 15 keys) until the merge is done, then
 *          must still find a key that stays there: a merge that does not
 *          mark the leaf inserting lets it search the moved keys at the
 *          erased keys' places. The writer is held with the keys copied
 *          and the right leaf still in the parent (MERGE) until readers 2
 *          and 3 have looked up the moving keys twice more (found in the
 *          right leaf), while reader 4 inserts a key into the right
 *          leaf's range (it waits for that leaf's lock, then must start
 *          over: the key must not land in the retired leaf) and walks the
 *          map with a cursor (every stable key exactly once).
 * imerge   A root internode over internodes A (5 leaves) and B (7
 *          leaves, its first one full). Reader 4 inserts into B's full
 *          leaf and is held between reading the leaf's parent (B) and
 *          locking it (LOCK_PARENT) while the writer erases a leaf's
 *          worth of keys under A: A is left with 4 children and takes in
 *          B's 7 (an internode merge). The writer is held in both merges
 *          (MERGE) until readers 1 and 2 looked up keys under B twice
 *          more; reader 3 walks with a cursor. Reader 4 then locks B,
 *          must find that its leaf's parent changed, and split into A.
 * reuse    A root leaf of 15 keys. Reader 1 is held after it loaded the
 *          full permutation (READ) while the writer erases the key at
 *          position 7 (its slot goes to the end of the free list, the
 *          only free one) and inserts a key above all the others, which
 *          takes that slot. Let go, the reader searches its stale
 *          permutation for the key at position 10: the search starts at
 *          position 7, whose slot now holds the new key, and turns left,
 *          away from its key. The version must have moved between the
 *          erase and the slot's refill, so that the reader's check sends
 *          it back. Readers 2 and 3 load the stable keys meanwhile.
 * refill   The same leaf, its key at position 14 erased at setup (the
 *          freed slot keeps that key's slice and entry). The writer
 *          inserts the key again with another entry, into that slot, and
 *          is held before it marks the leaf (MARK), the slot not yet
 *          written, while readers 1..3 load the key: until the insert
 *          returns they must find nothing or the new entry, never the
 *          erased one, which a permutation published before the slot is
 *          written would show them.
 * bag      A root leaf of 15 16-byte keys, their second slices in the
 *          leaf's bag. Reader 1 looks up a key with the slice of the one
 *          at position 10 and another second slice, absent, and is held
 *          once its window validated (VALIDATED), the slot of position 10
 *          read, while the writer erases that key and inserts the one
 *          sought, into the same slot: same slice, new bag entry. Let go,
 *          the reader must compare the bag entry it read in its window
 *          (the erased key's): not found; one that read the bag after
 *          validating would take the new entry for the old key's and
 *          return the erased key's entry for the new key.
 *
 * After every round: every key present with its entry, the key count of
 * a cursor walk, masstree_get_stats() keys equal to both, its bytes equal
 * to the node and suffix counters that masstree_validate() == 0 has just
 * checked against the map, and (every 16th round) its leaves and
 * internodes equal to the nodes still allocated. A run fails unless each
 * kind of window was met at least once with another thread inside.
 *
 *   races [-r rounds] [-b bound_us] [-s seed]
 */
#include <getopt.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "../include/shim.h"
#include <linux/masstree.h>
#include "../lib/alloc.h"
#include "../../../masstree/internal.h"

#define NWORKERS	5
#define KLEN_MAX	32

enum round_kind {
	R_FIRST, R_LAYER_NEW, R_LAYER_EMPTYING, R_SPLIT, R_PARENT, R_COLLAPSE,
	R_HANDOFF, R_MERGE, R_IMERGE, R_SPAN_MERGE, R_REUSE, R_REFILL, R_BAG,
	R_NR
};

static const char *const round_name[R_NR] = {
	"first", "layer-new", "layer-emptying", "split", "parent", "collapse",
	"handoff", "merge", "imerge", "span-merge", "reuse", "refill", "bag",
};

static DEFINE_MASSTREE(map);
static unsigned long rounds = 2000, bound_us = 200, seed = 1;
static long failures;
static const char *where_now = "init";
static unsigned long round_now;

#define FAIL(...) do {							\
	fprintf(stderr, "races FAILED (%s round %lu): ", where_now,	\
		round_now);						\
	fprintf(stderr, __VA_ARGS__);					\
	fprintf(stderr, "\n");						\
	__atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);		\
} while (0)

/* The round: workers wait for gen to change, then run kind. */
static unsigned long gen;
static int kind;
static bool hold_on;
static bool deep;	/* layer keys share two slices */
static int arrived, done;
static int writer_done;
/*
 * The split round's windows, in the order the writer meets them: 1 the
 * leaf about to be marked, 2 the leaf's dirty window, 3 the split done
 * but the parent not told, 4 the internode about to be marked, 5 the
 * internode's dirty window.
 */
static int split_window;
/*
 * The split round's probe, the first lookup of reader SPLIT_PROBER: 1 from
 * the moment it stands in the leaf's read window, 2 once it returned.
 */
#define SPLIT_PROBER	1
static int split_probe;
static unsigned long split_probes;
#define W_INODE_MARK	4
#define W_INODE_DIRTY	5

/* Completed operations: what a held writer waits for. */
static unsigned long writes_done;
/* The collapse round: writes_done once its three writers are done. */
static unsigned long collapse_writes;
static unsigned long found_root;
/* The parent round: worker 0's LOCK_PARENT calls; it is held. */
static int parent_calls, parent_held;
/* The collapse round: the eraser is held (or will not be). */
static int collapse_held;
/* The collapse round: the writers (bit per id) that reached a leaf lock. */
static int collapse_at_lock;
/*
 * The merge round: reader 1 is held on a stale permutation; the writer's
 * erases (and so the merge) are done; the writer is held in the merge.
 */
static int merge_reader_held, merge_erased, merge_held;
/* Merge rounds whose stale reader was held until the merge was done. */
static unsigned long merge_stale;
/*
 * The imerge round: the splitter is held at its parent lock; the erases
 * are done; imerge rounds whose splitter had to climb again.
 */
static int imerge_split_held, imerge_erased;
static unsigned long imerge_reclimbed;
/*
 * The reuse and bag rounds: reader 1 is held (on a stale permutation, or
 * with its window validated); the erase and the insert that refills its
 * slot are done.
 */
static int reuse_reader_held, reuse_refilled;
static unsigned long reader_ops[NWORKERS];
/* Windows held, and those another thread entered (acted in) meanwhile. */
static unsigned long held[R_NR], met[R_NR];
static unsigned long worker_ops[NWORKERS];

static __thread int tl_id = -1;
static __thread bool tl_writer;
static __thread bool tl_probe;

static void *entry(unsigned long v)
{
	return (void *)(uintptr_t)((v + 1) << 3);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* The first-insert keys: distinct first bytes, short and long. */
static u32 first_key(u8 *b, int i)
{
	u32 len = 4 + 5 * i;

	memset(b, 'x', len);
	b[0] = 'a' + i;
	return len;
}

/*
 * Layer keys: "layer-X!" then, in odd rounds, a second shared slice (a
 * chain of two layers), then the key's own bytes.
 */
static u32 layer_key(u8 *b, int i, bool deep)
{
	u32 off = deep ? 16 : 8;

	memcpy(b, "layer-X!layer-Y!", 16);
	memset(b + off, 'k', 12);
	b[off] = '0' + i;
	return off + 12;
}

/*
 * Collapse keys: 24 shared bytes, then the key's own. Key 8 is the one
 * erased, 9 the survivor; the writers' keys share the span again. In the
 * span-merge round key 10 survives too, and the erased key leaves the
 * shared bytes at their second slice.
 */
#define COLLAPSE_GONE	8
#define COLLAPSE_STAYS	9
#define COLLAPSE_STAYS2	10

static u32 collapse_key(u8 *b, int i)
{
	memcpy(b, "collapse:span:of:24:byte", 24);
	memset(b + 24, 'c', 5);
	b[24] = '0' + i;
	return 29;
}

/* The key the collapse round of kind @k erases. */
static u32 collapse_gone_key(u8 *b, int k)
{
	u32 len = collapse_key(b, COLLAPSE_GONE);

	if (k == R_SPAN_MERGE)
		b[8] = '#';
	return len;
}

/*
 * Split keys: slices 1000 + 16 * i (8-byte big-endian), inserted in
 * order, make five leaves of eight under the root internode; the "fill"
 * keys 1000 + 16 * i + 8 (i < 7) make the leftmost leaf full: its key at
 * position p is 1000 + 8 * p.
 */
#define SPLIT_BASE	1000
#define SPLIT_N		40
#define SPLIT_FILL	7

/*
 * Parent keys: slices 1000 + 16 * i for i < 128, in order, make sixteen
 * leaves of eight under a full root internode; leaves 3 and 12 (either
 * side of the root's split point) are filled up to 15 keys with
 * 1000 + 16 * i + 8, and each writer's key, 1000 + 16 * i + 4, splits
 * one of them.
 */
#define PARENT_N	128
#define PARENT_LEAF_A	12
#define PARENT_LEAF_B	3

static u64 parent_key(int leaf)
{
	return SPLIT_BASE + 16 * (8 * leaf) + 4;
}

/*
 * Handoff keys: the parent round's sixteen leaves, leaf 7 filled to 15
 * keys. Its split (by parent_key(7)) is child 7 of 16 of a full root, so
 * the right half becomes the first child of the root's new right
 * internode; that half holds the leaf's eight largest keys. The inserted
 * key lies in it, above all of them.
 */
#define HANDOFF_LEAF	7
#define HANDOFF_KEY	(SPLIT_BASE + 16 * (8 * HANDOFF_LEAF + 7) + 12)
#define HANDOFF_NEXT_FILL	4	/* keys added to leaf 8, see the setup */
/* The handoff round: the right neighbour and its first lower bound. */
static struct mst_leaf *handoff_next;
static u64 handoff_next_low;
/* Worker 1 held in the leaf; worker 0 held after the handoff; worker 1 done. */
static int handoff_in_leaf, handoff_held, handoff_inserted;
static unsigned long handoff_reads;
/* The keys worker 0 erases: the split leaf's upper half. */
static u64 handoff_gone[8];

static u32 slice_key(u8 *b, u64 s)
{
	int i;

	for (i = 0; i < 8; i++)
		b[i] = s >> (56 - 8 * i);
	return 8;
}

/* Wait until @cond or the bound; yield meanwhile (locks may be held). */
#define HOLD_UNTIL_US(cond, us) ({					\
	double t0 = now_us();						\
	bool ok;							\
									\
	while (!(ok = (cond)) && now_us() - t0 < (us))			\
		sched_yield();						\
	ok;								\
})
#define HOLD_UNTIL(cond) HOLD_UNTIL_US(cond, bound_us)

/*
 * Merge keys: the split round's leaves (SPLIT_BASE + 16 * i, the leftmost
 * filled to 15 keys at SPLIT_BASE + 8 * p for position p); the second leaf
 * (i = 8..15) down to MERGE_SRC_N keys. The writer erases the leftmost
 * leaf's keys at the positions of merge_gone[], in that order: the first
 * three slots freed are the ones the moved keys take, and position 7 is
 * where a search of the leftmost leaf starts. Position MERGE_STAYS stays.
 */
#define MERGE_SRC_N	3
#define MERGE_STAYS	10
static const int merge_src[MERGE_SRC_N] = { 8, 12, 15 };
static const int merge_gone[] = { 7, 0, 1, 3, 4, 5, 6, 8, 9, 11, 12, 13 };
#define MERGE_GONE_N	ARRAY_SIZE(merge_gone)

static u64 merge_left_key(int pos)
{
	return SPLIT_BASE + 8 * pos;
}

static u64 merge_src_key(int i)
{
	return SPLIT_BASE + 16 * merge_src[i];
}

/*
 * Reuse keys: SPLIT_BASE + 16 * i for i < 15 in one root leaf; the writer
 * erases position REUSE_GONE and inserts REUSE_NEW; reader 1 seeks
 * position REUSE_SOUGHT.
 */
#define REUSE_N		15
#define REUSE_GONE	7
#define REUSE_SOUGHT	10
#define REUSE_NEW	(SPLIT_BASE + 16 * 100)

static u64 reuse_key(int pos)
{
	return SPLIT_BASE + 16 * pos;
}

/*
 * Bag keys: 16 bytes, the slice of reuse_key(pos), then @second. The
 * round's keys at BAG_POS: BAG_GONE (erased), BAG_NEW (inserted).
 */
#define BAG_POS		10
#define BAG_STABLE	0x5354424c00000000ULL
#define BAG_GONE	0x474f4e4500000000ULL
#define BAG_NEW		0x4e45570000000000ULL

static u32 bag_key(u8 *b, int pos, u64 second)
{
	slice_key(b, reuse_key(pos));
	slice_key(b + 8, second);
	return 16;
}

/* The entry number of bag key (@pos, @second). */
static u64 bag_val(int pos, u64 second)
{
	return reuse_key(pos) + (second == BAG_NEW ? 1 : second == BAG_GONE ? 2 : 0);
}

/*
 * The refill round's key, erased at setup (its entry stays in the freed
 * slot), and the entry it is inserted again with.
 */
#define REFILL_POS	14
#define REFILL_NEW	8888

/* Reader 4's key, in the right leaf's range. */
#define MERGE_NEW	(SPLIT_BASE + 16 * 10 + 4)

/*
 * Internode merge keys: SPLIT_BASE + 16 * i for i < IMERGE_N, in order:
 * A's leaves hold i 0..63 (8 each), B's i 64..135. Leaves of i 40..63
 * and 120..135 are erased at setup (A keeps 5 leaves, B 7), B's first
 * leaf is filled to 15 with SPLIT_BASE + 16 * i + 8 (i 64..70), and the
 * writer erases i 32..39.
 */
#define IMERGE_N	136
#define IMERGE_SPLIT	(SPLIT_BASE + 16 * 64 + 12)

static bool imerge_gone(int i)
{
	return (i >= 32 && i < 64) || (i >= 120 && i < IMERGE_N);
}

static bool merge_is_src(u64 s)
{
	int i;

	for (i = 0; i < MERGE_SRC_N; i++)
		if (s == merge_src_key(i))
			return true;
	return false;
}

static bool merge_is_gone(u64 s)
{
	size_t i;

	for (i = 0; i < MERGE_GONE_N; i++)
		if (s == merge_left_key(merge_gone[i]))
			return true;
	return false;
}

/*
 * Has every reader but @skip (0: none) finished a lookup since @r0 (two
 * more than then)?
 */
static bool readers_moved(const unsigned long *r0, int skip)
{
	int i;

	for (i = 1; i < NWORKERS; i++)
		if (i != skip &&
		    __atomic_load_n(&reader_ops[i], __ATOMIC_ACQUIRE) < r0[i] + 2)
			return false;
	return true;
}

static void races_hook(enum masstree_test_hook_point where)
{
	unsigned long w0, f0, r0[NWORKERS];
	int i, k = READ_ONCE(kind);

	if (!READ_ONCE(hold_on) || tl_id < 0)
		return;
	if (k == R_FIRST && where == MASSTREE_HOOK_LOCK_LEAF) {
		/* A writer found the root: it must now wait for its lock. */
		__atomic_fetch_add(&found_root, 1, __ATOMIC_RELEASE);
	} else if (k == R_FIRST && where == MASSTREE_HOOK_NEW_ROOT) {
		/*
		 * Until another writer is done (it cannot be, unless it wrote
		 * beside us), or the bound: met if one found the root.
		 */
		w0 = __atomic_load_n(&writes_done, __ATOMIC_ACQUIRE);
		f0 = __atomic_load_n(&found_root, __ATOMIC_ACQUIRE);
		__atomic_fetch_add(&held[k], 1, __ATOMIC_RELAXED);
		HOLD_UNTIL(__atomic_load_n(&writes_done, __ATOMIC_ACQUIRE) != w0);
		if (__atomic_load_n(&found_root, __ATOMIC_ACQUIRE) != f0)
			__atomic_fetch_add(&met[k], 1, __ATOMIC_RELAXED);
	} else if ((k == R_LAYER_NEW || k == R_LAYER_EMPTYING) &&
		   where == MASSTREE_HOOK_LOCK_LEAF) {
		w0 = __atomic_load_n(&writes_done, __ATOMIC_ACQUIRE);
		__atomic_fetch_add(&held[k], 1, __ATOMIC_RELAXED);
		if (HOLD_UNTIL(__atomic_load_n(&writes_done, __ATOMIC_ACQUIRE) != w0))
			__atomic_fetch_add(&met[k], 1, __ATOMIC_RELAXED);
	} else if ((k == R_COLLAPSE || k == R_SPAN_MERGE) &&
		   where == MASSTREE_HOOK_LOCK_LEAF && tl_id >= 3) {
		__atomic_fetch_or(&collapse_at_lock, 1 << tl_id, __ATOMIC_RELEASE);
	} else if (k == R_COLLAPSE && where == MASSTREE_HOOK_COLLAPSE) {
		/*
		 * Until both writers reached the folding layer's locked leaf
		 * (they must start over once it is deleted) and the reader
		 * found the survivor there twice.
		 */
		r0[1] = __atomic_load_n(&reader_ops[1], __ATOMIC_ACQUIRE);
		__atomic_store_n(&collapse_held, 1, __ATOMIC_RELEASE);
		__atomic_fetch_add(&held[k], 1, __ATOMIC_RELAXED);
		if (HOLD_UNTIL(__atomic_load_n(&collapse_at_lock, __ATOMIC_ACQUIRE) ==
			       (1 << 3 | 1 << 4) &&
			       __atomic_load_n(&reader_ops[1], __ATOMIC_ACQUIRE) >= r0[1] + 2))
			__atomic_fetch_add(&met[k], 1, __ATOMIC_RELAXED);
	} else if (k == R_SPAN_MERGE && where == MASSTREE_HOOK_SPAN_MERGE) {
		/*
		 * Until both writers inserted below the merging layer, through
		 * it, and the reader found the survivor through it twice.
		 */
		w0 = __atomic_load_n(&writes_done, __ATOMIC_ACQUIRE);
		r0[1] = __atomic_load_n(&reader_ops[1], __ATOMIC_ACQUIRE);
		__atomic_store_n(&collapse_held, 1, __ATOMIC_RELEASE);
		__atomic_fetch_add(&held[k], 1, __ATOMIC_RELAXED);
		if (HOLD_UNTIL(__atomic_load_n(&writes_done, __ATOMIC_ACQUIRE) >= w0 + 2 &&
			       __atomic_load_n(&reader_ops[1], __ATOMIC_ACQUIRE) >= r0[1] + 2))
			__atomic_fetch_add(&met[k], 1, __ATOMIC_RELAXED);
	} else if ((k == R_COLLAPSE || k == R_SPAN_MERGE) &&
		   where == MASSTREE_HOOK_DIRTY && tl_id == 0) {
		/*
		 * Inside the slot's switch: readers must wait for it (nothing
		 * to meet), and a slot switched unmarked shows them a key whose
		 * entry is still the layer's root.
		 */
		r0[1] = __atomic_load_n(&reader_ops[1], __ATOMIC_ACQUIRE);
		HOLD_UNTIL(__atomic_load_n(&reader_ops[1], __ATOMIC_ACQUIRE) >= r0[1] + 2);
	} else if (k == R_MERGE && tl_id == 1 && where == MASSTREE_HOOK_READ &&
		   !__atomic_load_n(&merge_reader_held, __ATOMIC_ACQUIRE)) {
		/*
		 * In the leftmost leaf, its full permutation loaded: until the
		 * writer's erases and merge are done (a long bound: the
		 * writer is held in the merge meanwhile).
		 */
		__atomic_store_n(&merge_reader_held, 1, __ATOMIC_RELEASE);
		if (HOLD_UNTIL_US(__atomic_load_n(&merge_erased, __ATOMIC_ACQUIRE),
				  100000.0 + 100 * bound_us))
			__atomic_fetch_add(&merge_stale, 1, __ATOMIC_RELAXED);
	} else if (((k == R_REUSE && where == MASSTREE_HOOK_READ) ||
		    (k == R_BAG && where == MASSTREE_HOOK_VALIDATED)) && tl_id == 1 &&
		   !__atomic_load_n(&reuse_reader_held, __ATOMIC_ACQUIRE)) {
		/*
		 * Reuse: the full permutation loaded, no slot read yet; bag:
		 * the slot read and validated. Until the erase and the
		 * insert that refills the slot are done.
		 */
		__atomic_store_n(&reuse_reader_held, 1, __ATOMIC_RELEASE);
		__atomic_fetch_add(&held[k], 1, __ATOMIC_RELAXED);
		if (HOLD_UNTIL_US(__atomic_load_n(&reuse_refilled, __ATOMIC_ACQUIRE),
				  100000.0 + 100 * bound_us))
			__atomic_fetch_add(&met[k], 1, __ATOMIC_RELAXED);
	} else if (k == R_REFILL && tl_id == 0 && where == MASSTREE_HOOK_MARK) {
		/* Until readers 1..3 have each loaded the key twice more. */
		for (i = 1; i < NWORKERS; i++)
			r0[i] = __atomic_load_n(&reader_ops[i], __ATOMIC_ACQUIRE);
		__atomic_fetch_add(&held[k], 1, __ATOMIC_RELAXED);
		if (HOLD_UNTIL(readers_moved(r0, 4)))
			__atomic_fetch_add(&met[k], 1, __ATOMIC_RELAXED);
	} else if (k == R_IMERGE && tl_id == 4 && where == MASSTREE_HOOK_LOCK_PARENT &&
		   !__atomic_load_n(&imerge_erased, __ATOMIC_ACQUIRE)) {
		/* Its leaf's parent read: until the merges are done. */
		__atomic_store_n(&imerge_split_held, 1, __ATOMIC_RELEASE);
		HOLD_UNTIL_US(__atomic_load_n(&imerge_erased, __ATOMIC_ACQUIRE),
			      100000.0 + 100 * bound_us);
	} else if (k == R_IMERGE && tl_id == 0 && where == MASSTREE_HOOK_MERGE) {
		r0[1] = __atomic_load_n(&reader_ops[1], __ATOMIC_ACQUIRE);
		r0[2] = __atomic_load_n(&reader_ops[2], __ATOMIC_ACQUIRE);
		__atomic_fetch_add(&held[k], 1, __ATOMIC_RELAXED);
		if (HOLD_UNTIL(__atomic_load_n(&reader_ops[1], __ATOMIC_ACQUIRE) >= r0[1] + 2 &&
			       __atomic_load_n(&reader_ops[2], __ATOMIC_ACQUIRE) >= r0[2] + 2))
			__atomic_fetch_add(&met[k], 1, __ATOMIC_RELAXED);
	} else if (k == R_MERGE && tl_id == 0 && where == MASSTREE_HOOK_MERGE) {
		/*
		 * Until readers 2 and 3 found the moving keys twice more and
		 * reader 4's insert started (and had time to reach the right
		 * leaf's lock).
		 */
		r0[2] = __atomic_load_n(&reader_ops[2], __ATOMIC_ACQUIRE);
		r0[3] = __atomic_load_n(&reader_ops[3], __ATOMIC_ACQUIRE);
		__atomic_store_n(&merge_held, 1, __ATOMIC_RELEASE);
		__atomic_fetch_add(&held[k], 1, __ATOMIC_RELAXED);
		if (HOLD_UNTIL(__atomic_load_n(&reader_ops[2], __ATOMIC_ACQUIRE) >= r0[2] + 2 &&
			       __atomic_load_n(&reader_ops[3], __ATOMIC_ACQUIRE) >= r0[3] + 2))
			__atomic_fetch_add(&met[k], 1, __ATOMIC_RELAXED);
		if (HOLD_UNTIL(__atomic_load_n(&merge_held, __ATOMIC_ACQUIRE) == 2))
			HOLD_UNTIL_US(false, 20.0);
	} else if (k == R_PARENT && tl_id == 0 &&
		   where == MASSTREE_HOOK_LOCK_PARENT) {
		/*
		 * The first call comes before the reserve is filled (the
		 * write starts over): hold from the second, until the other
		 * writer's split of the root is done.
		 */
		if (++parent_calls < 2)
			return;
		w0 = __atomic_load_n(&writes_done, __ATOMIC_ACQUIRE);
		__atomic_store_n(&parent_held, 1, __ATOMIC_RELEASE);
		__atomic_fetch_add(&held[k], 1, __ATOMIC_RELAXED);
		if (HOLD_UNTIL(__atomic_load_n(&writes_done, __ATOMIC_ACQUIRE) != w0))
			__atomic_fetch_add(&met[k], 1, __ATOMIC_RELAXED);
	} else if (k == R_HANDOFF && tl_id == 1 && where == MASSTREE_HOOK_READ &&
		   !__atomic_load_n(&handoff_in_leaf, __ATOMIC_ACQUIRE)) {
		/*
		 * Inside leaf 7's read window, before its split: until worker
		 * 0 is held after the handoff (a split and eight erases).
		 */
		__atomic_store_n(&handoff_in_leaf, 1, __ATOMIC_RELEASE);
		HOLD_UNTIL_US(__atomic_load_n(&handoff_held, __ATOMIC_ACQUIRE),
			      200 * bound_us);
	} else if (k == R_HANDOFF && tl_id == 0 && where == MASSTREE_HOOK_MARK &&
		   !__atomic_load_n(&handoff_held, __ATOMIC_ACQUIRE) &&
		   READ_ONCE(handoff_next->lowkey) != handoff_next_low) {
		/*
		 * The neighbour's bound is lowered, the empty leaf not yet
		 * deleted: until worker 1 inserted and worker 2 looked the key
		 * up twice since.
		 */
		__atomic_store_n(&handoff_held, 1, __ATOMIC_RELEASE);
		__atomic_fetch_add(&held[k], 1, __ATOMIC_RELAXED);
		if (HOLD_UNTIL_US(__atomic_load_n(&handoff_reads, __ATOMIC_ACQUIRE) >= 2,
				  200 * bound_us))
			__atomic_fetch_add(&met[k], 1, __ATOMIC_RELAXED);
	} else if (k == R_SPLIT && tl_probe && where == MASSTREE_HOOK_READ &&
		   !__atomic_load_n(&split_probe, __ATOMIC_ACQUIRE)) {
		/*
		 * Its version taken before the split: until the split is done
		 * (then it waits for the leaf to turn clean, which only the
		 * writer's last window ends).
		 */
		__atomic_store_n(&split_probe, 1, __ATOMIC_RELEASE);
		if (HOLD_UNTIL_US(READ_ONCE(split_window) >= 3,
				  100000.0 + 100 * bound_us))
			__atomic_fetch_add(&split_probes, 1, __ATOMIC_RELAXED);
	} else if (k == R_SPLIT && tl_writer &&
		   (where == MASSTREE_HOOK_MARK || where == MASSTREE_HOOK_DIRTY ||
		    where == MASSTREE_HOOK_SPLIT)) {
		/*
		 * Two more completed lookups: at least one of them started
		 * after we got here. Before the leaf turns dirty, the probe
		 * must be in its read window.
		 */
		if (!READ_ONCE(split_window))
			HOLD_UNTIL_US(__atomic_load_n(&split_probe, __ATOMIC_ACQUIRE),
				      100000.0 + 100 * bound_us);
		WRITE_ONCE(split_window, READ_ONCE(split_window) + 1);
		for (i = 1; i < NWORKERS; i++)
			r0[i] = __atomic_load_n(&reader_ops[i], __ATOMIC_ACQUIRE);
		__atomic_fetch_add(&held[k], 1, __ATOMIC_RELAXED);
		/* The probe cannot move until the split is done: not counted. */
		if (HOLD_UNTIL(readers_moved(r0, __atomic_load_n(&split_probe,
								 __ATOMIC_ACQUIRE) == 1 ?
					     SPLIT_PROBER : 0)))
			__atomic_fetch_add(&met[k], 1, __ATOMIC_RELAXED);
	}
}

static void wrote(void)
{
	__atomic_fetch_add(&writes_done, 1, __ATOMIC_RELEASE);
}

static void insert_or_fail(const u8 *kb, u32 len, unsigned long v)
{
	int err = masstree_insert(&map, kb, len, entry(v), GFP_KERNEL);

	if (err)
		FAIL("worker %d: insert of key %lu: %d", tl_id, v, err);
	wrote();
}

/*
 * Readers of the split round. A reader that looks up a key of the split
 * leaf waits there (in a correct core) until the whole split is done, so
 * only reader 1 does that all the time; readers 2 and 4 look up the keys
 * that move right only from the internode window each is there for, and
 * keys right of the split otherwise.
 */
static void split_reader(int id)
{
	struct masstree_cursor cur;
	unsigned long n = 0;
	u8 kb[KLEN_MAX];
	void *got;
	int w;
	u64 s;

	masstree_cursor_init(&cur, &map, GFP_KERNEL);
	while (!__atomic_load_n(&writer_done, __ATOMIC_ACQUIRE)) {
		w = READ_ONCE(split_window);
		/* The probe: the leaf's last key, which moves right. */
		tl_probe = id == SPLIT_PROBER && !n;
		if (tl_probe)
			s = SPLIT_BASE + 8 * 14;
		else if (id == 1)
			s = SPLIT_BASE + 8 * (n % 8);
		else if ((id == 2 && w == W_INODE_MARK) ||
			 (id == 4 && w == W_INODE_DIRTY))
			s = SPLIT_BASE + 8 * (7 + n % 8);
		else
			s = SPLIT_BASE + 16 * (8 + n % (SPLIT_N - 8));
		slice_key(kb, s);
		if (id == 3 && n % 2) {
			got = masstree_seek(&cur, kb, 8);
			if (got != entry(s) || masstree_cursor_len(&cur) != 8 ||
			    memcmp(masstree_cursor_key(&cur), kb, 8))
				FAIL("reader %d: seek to present key %llu gave %p",
				     id, (unsigned long long)s, got);
		} else {
			got = masstree_load(&map, kb, 8);
			if (got != entry(s))
				FAIL("reader %d: present key %llu: load %p", id,
				     (unsigned long long)s, got);
		}
		if (tl_probe)
			__atomic_store_n(&split_probe, 2, __ATOMIC_RELEASE);
		tl_probe = false;
		n++;
		__atomic_fetch_add(&reader_ops[id], 1, __ATOMIC_RELEASE);
		/* Let the other readers in: a held window waits for all. */
		sched_yield();
	}
	masstree_cursor_fini(&cur);
}

/*
 * Readers of the collapse round: worker 1 loads the survivor and its
 * neighbour, worker 2 walks the map with a cursor.
 */
static void collapse_reader(int id)
{
	struct masstree_cursor cur;
	u8 kb[KLEN_MAX], stays[KLEN_MAX];
	unsigned int seen[NWORKERS + 1];
	u32 len, slen = collapse_key(stays, COLLAPSE_STAYS);
	void *got;
	int i;

	masstree_cursor_init(&cur, &map, GFP_KERNEL);
	while (!__atomic_load_n(&writer_done, __ATOMIC_ACQUIRE)) {
		if (id == 1) {
			got = masstree_load(&map, stays, slen);
			if (got != entry(COLLAPSE_STAYS))
				FAIL("reader: the survivor: load %p", got);
			got = masstree_load(&map, "aaaa", 4);
			if (got != entry(100))
				FAIL("reader: the neighbour: load %p", got);
		} else {
			memset(seen, 0, sizeof(seen));
			masstree_for_each(&map, &cur, got) {
				const u8 *k = masstree_cursor_key(&cur);

				len = masstree_cursor_len(&cur);
				if (len == 4 && !memcmp(k, "aaaa", 4))
					seen[0]++;
				else if (len == slen && !memcmp(k, stays, slen))
					seen[1]++;
				for (i = 3; i < NWORKERS; i++)
					if (len == collapse_key(kb, i) &&
					    !memcmp(k, kb, len))
						seen[i]++;
			}
			if (cur.err || seen[0] != 1 || seen[1] != 1 ||
			    seen[3] > 1 || seen[4] > 1)
				FAIL("walk: neighbour %u, survivor %u, new %u %u times, err %d",
				     seen[0], seen[1], seen[3], seen[4], cur.err);
		}
		__atomic_fetch_add(&reader_ops[id], 1, __ATOMIC_RELEASE);
		sched_yield();
	}
	masstree_cursor_fini(&cur);
}

/*
 * Readers of the merge round: 1 the key that stays in the leftmost leaf
 * (held once on a stale permutation), 2 and 3 the moving keys, 4 a new
 * key into the right leaf's range, then cursor walks.
 */
static void merge_reader(int id)
{
	struct masstree_cursor cur;
	unsigned long n = 0, seen;
	u8 kb[KLEN_MAX];
	void *got;
	u64 s;

	masstree_cursor_init(&cur, &map, GFP_KERNEL);
	if (id == 4) {
		HOLD_UNTIL(__atomic_load_n(&merge_held, __ATOMIC_ACQUIRE));
		__atomic_store_n(&merge_held, 2, __ATOMIC_RELEASE);
		insert_or_fail(kb, slice_key(kb, MERGE_NEW), MERGE_NEW);
	}
	do {
		if (id == 4) {
			/* Stable: all but the erased and the new key. */
			seen = 0;
			masstree_for_each(&map, &cur, got) {
				s = get_unaligned_be64(masstree_cursor_key(&cur));
				if (!merge_is_gone(s) && s != MERGE_NEW)
					seen++;
			}
			if (cur.err || seen != SPLIT_N + SPLIT_FILL - (8 - MERGE_SRC_N) -
			    MERGE_GONE_N)
				FAIL("walk: %lu stable keys, err %d", seen, cur.err);
		} else {
			s = id == 1 ? merge_left_key(MERGE_STAYS) :
			    merge_src_key((n + id) % MERGE_SRC_N);
			slice_key(kb, s);
			got = masstree_load(&map, kb, 8);
			if (got != entry(s))
				FAIL("reader %d: present key %llu: load %p", id,
				     (unsigned long long)s, got);
		}
		n++;
		__atomic_fetch_add(&reader_ops[id], 1, __ATOMIC_RELEASE);
		sched_yield();
	} while (!__atomic_load_n(&writer_done, __ATOMIC_ACQUIRE));
	masstree_cursor_fini(&cur);
}

/*
 * Readers of the imerge round: 1 and 2 look up keys under B, 3 walks
 * with a cursor (every key that stays, once), 4 splits B's full leaf.
 */
static void imerge_reader(int id)
{
	struct masstree_cursor cur;
	unsigned long n = id, seen, want_seen = 0;
	u8 kb[KLEN_MAX];
	void *got;
	u64 s;
	int i;

	if (id == 4) {
		unsigned long c0 = masstree_test_counter(MASSTREE_TC_SPLIT_RECHECK);

		insert_or_fail(kb, slice_key(kb, IMERGE_SPLIT), IMERGE_SPLIT);
		if (__atomic_load_n(&imerge_erased, __ATOMIC_ACQUIRE) &&
		    masstree_test_counter(MASSTREE_TC_SPLIT_RECHECK) > c0)
			__atomic_fetch_add(&imerge_reclimbed, 1, __ATOMIC_RELAXED);
		return;
	}
	for (i = 0; i < IMERGE_N; i++)
		want_seen += !(i >= 32 && i < 64) && !(i >= 120);
	want_seen += 7;
	masstree_cursor_init(&cur, &map, GFP_KERNEL);
	do {
		if (id == 3) {
			seen = 0;
			masstree_for_each(&map, &cur, got) {
				s = get_unaligned_be64(masstree_cursor_key(&cur));
				if (s != IMERGE_SPLIT)
					seen++;
			}
			/* The writer's keys (i 32..39) may or may not be seen. */
			if (cur.err || seen < want_seen || seen > want_seen + 8)
				FAIL("walk: %lu keys, %lu stable, err %d", seen,
				     want_seen, cur.err);
		} else {
			s = SPLIT_BASE + 16 * (64 + n % (120 - 64));
			slice_key(kb, s);
			got = masstree_load(&map, kb, 8);
			if (got != entry(s))
				FAIL("reader %d: key %llu under B: load %p", id,
				     (unsigned long long)s, got);
		}
		n++;
		__atomic_fetch_add(&reader_ops[id], 1, __ATOMIC_RELEASE);
		sched_yield();
	} while (!__atomic_load_n(&writer_done, __ATOMIC_ACQUIRE));
	masstree_cursor_fini(&cur);
}

/*
 * Readers of the reuse rounds. R_REUSE: reader 1 looks up REUSE_SOUGHT
 * (its first lookup is the held one), the others stable keys; all must
 * be found. R_REFILL: the key being inserted again, absent or with its
 * new entry until the insert returns, never the erased one; then there.
 */
static void reuse_reader(int id)
{
	u64 s = reuse_key(REFILL_POS);
	unsigned long n = 0;
	u8 kb[KLEN_MAX];
	void *got;

	do {
		if (kind == R_REUSE)
			s = reuse_key(id == 1 ? REUSE_SOUGHT : (n * 3 + id) % REUSE_N);
		n++;
		if (kind == R_REUSE && s == reuse_key(REUSE_GONE))
			continue;
		got = masstree_load(&map, kb, slice_key(kb, s));
		if (kind == R_REUSE && got != entry(s))
			FAIL("reader %d: present key %llu: load %p", id,
			     (unsigned long long)s, got);
		if (kind == R_REFILL && got && got != entry(REFILL_NEW))
			FAIL("reader %d: key being inserted: load %p (%s)", id, got,
			     got == entry(s) ? "the erased entry" : "?");
		__atomic_fetch_add(&reader_ops[id], 1, __ATOMIC_RELEASE);
		sched_yield();
	} while (!__atomic_load_n(&writer_done, __ATOMIC_ACQUIRE));
	if (kind == R_REFILL && masstree_load(&map, kb, slice_key(kb, s)) !=
	    entry(REFILL_NEW))
		FAIL("reader %d: key absent after its insert returned", id);
}

/*
 * Readers of the bag round: reader 1 looks up the key being inserted
 * (its first lookup is the held one): absent or with its entry, never the
 * erased key's; readers 2 and 3 the stable keys, all present.
 */
static void bag_reader(int id)
{
	unsigned long n = 0;
	u8 kb[KLEN_MAX];
	void *got;
	u64 v;
	int pos;

	do {
		pos = (n * 3 + id) % REUSE_N;
		n++;
		if (id == 1) {
			got = masstree_load(&map, kb, bag_key(kb, BAG_POS, BAG_NEW));
			if (got && got != entry(bag_val(BAG_POS, BAG_NEW)))
				FAIL("bag reader: key being inserted: load %p (%s)",
				     got, got == entry(bag_val(BAG_POS, BAG_GONE)) ?
				     "the erased key's entry" : "?");
		} else if (pos != BAG_POS) {
			v = bag_val(pos, BAG_STABLE);
			got = masstree_load(&map, kb, bag_key(kb, pos, BAG_STABLE));
			if (got != entry(v))
				FAIL("bag reader %d: present key %llu: load %p", id,
				     (unsigned long long)v, got);
		}
		__atomic_fetch_add(&reader_ops[id], 1, __ATOMIC_RELEASE);
		sched_yield();
	} while (!__atomic_load_n(&writer_done, __ATOMIC_ACQUIRE));
}

/*
 * The writer of the reuse and bag rounds: once reader 1 is held, erase
 * key @gone (entry number @gv) and insert @nk (@nv) into the slot it
 * freed, the only free one.
 */
static void refill_slot(const u8 *gone, u32 glen, u64 gv, const u8 *nk,
			u32 nlen, u64 nv)
{
	HOLD_UNTIL_US(__atomic_load_n(&reuse_reader_held, __ATOMIC_ACQUIRE),
		      10 * bound_us);
	if (masstree_erase(&map, gone, glen) != entry(gv))
		FAIL("erase of key %llu", (unsigned long long)gv);
	insert_or_fail(nk, nlen, nv);
	__atomic_store_n(&reuse_refilled, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&writer_done, 1, __ATOMIC_RELEASE);
}

static void run_role(int id)
{
	u8 kb[KLEN_MAX], kb2[KLEN_MAX];
	u32 len;

	switch (kind) {
	case R_FIRST:
		len = first_key(kb, id);
		insert_or_fail(kb, len, id);
		break;
	case R_LAYER_NEW:
		len = layer_key(kb, id, deep);
		insert_or_fail(kb, len, id);
		break;
	case R_LAYER_EMPTYING:
		if (id == 0) {
			len = layer_key(kb, 9, deep);
			if (masstree_erase(&map, kb, len) != entry(9))
				FAIL("erase of the layer's last key");
			wrote();
		} else {
			len = layer_key(kb, id, deep);
			insert_or_fail(kb, len, id);
		}
		break;
	case R_PARENT:
		if (id == 0) {
			/*
			 * An empty per-CPU pool: the split cannot take its
			 * nodes under the lock, so the first attempt starts
			 * over (see parent_calls).
			 */
			mst_preload_drain();
			insert_or_fail(kb, slice_key(kb, parent_key(PARENT_LEAF_A)),
				       parent_key(PARENT_LEAF_A));
		} else if (id == 1) {
			/* Once worker 0 is held (or it never will be). */
			HOLD_UNTIL(__atomic_load_n(&parent_held, __ATOMIC_ACQUIRE));
			insert_or_fail(kb, slice_key(kb, parent_key(PARENT_LEAF_B)),
				       parent_key(PARENT_LEAF_B));
		}
		break;
	case R_COLLAPSE:
	case R_SPAN_MERGE:
		if (id == 0) {
			len = collapse_gone_key(kb, kind);
			if (masstree_erase(&map, kb, len) != entry(COLLAPSE_GONE))
				FAIL("erase of the span's other key");
			wrote();
			/* The writers are done too: the readers may stop. */
			while (__atomic_load_n(&writes_done, __ATOMIC_ACQUIRE) <
			       READ_ONCE(collapse_writes))
				sched_yield();
			__atomic_store_n(&writer_done, 1, __ATOMIC_RELEASE);
		} else if (id <= 2) {
			collapse_reader(id);
		} else {
			HOLD_UNTIL(__atomic_load_n(&collapse_held, __ATOMIC_ACQUIRE));
			len = collapse_key(kb, id);
			insert_or_fail(kb, len, id);
		}
		break;
	case R_HANDOFF:
		if (id == 0) {
			int i;

			HOLD_UNTIL_US(__atomic_load_n(&handoff_in_leaf, __ATOMIC_ACQUIRE),
				      200 * bound_us);
			insert_or_fail(kb, slice_key(kb, parent_key(HANDOFF_LEAF)),
				       parent_key(HANDOFF_LEAF));
			for (i = 0; i < 8; i++)
				if (masstree_erase(&map, kb, slice_key(kb, handoff_gone[i])) !=
				    entry(handoff_gone[i]))
					FAIL("erase of key %llu of the split leaf",
					     (unsigned long long)handoff_gone[i]);
			/*
			 * (Worker 1 let go by its bound before the split puts
			 * its key in the right half: nothing is handed over, and
			 * the window is not met.)
			 */
			HOLD_UNTIL_US(__atomic_load_n(&handoff_inserted, __ATOMIC_ACQUIRE),
				      200 * bound_us);
			__atomic_store_n(&writer_done, 1, __ATOMIC_RELEASE);
		} else if (id == 1) {
			insert_or_fail(kb, slice_key(kb, HANDOFF_KEY), HANDOFF_KEY);
			__atomic_store_n(&handoff_inserted, 1, __ATOMIC_RELEASE);
		} else if (id == 2) {
			/* Once the insert is done the key must always be found. */
			while (!__atomic_load_n(&writer_done, __ATOMIC_ACQUIRE)) {
				if (!__atomic_load_n(&handoff_inserted, __ATOMIC_ACQUIRE)) {
					sched_yield();
					continue;
				}
				if (masstree_load(&map, kb, slice_key(kb, HANDOFF_KEY)) !=
				    entry(HANDOFF_KEY))
					FAIL("reader: key %llu absent after its insert returned",
					     (unsigned long long)HANDOFF_KEY);
				__atomic_fetch_add(&handoff_reads, 1, __ATOMIC_RELEASE);
				sched_yield();
			}
		}
		break;
	case R_MERGE:
		if (id == 0) {
			size_t i;

			/* Once reader 1 holds the full permutation. */
			HOLD_UNTIL_US(__atomic_load_n(&merge_reader_held, __ATOMIC_ACQUIRE),
				      10 * bound_us);
			for (i = 0; i < MERGE_GONE_N; i++) {
				u64 s = merge_left_key(merge_gone[i]);

				if (masstree_erase(&map, kb, slice_key(kb, s)) != entry(s))
					FAIL("erase of key %llu", (unsigned long long)s);
			}
			__atomic_store_n(&merge_erased, 1, __ATOMIC_RELEASE);
			__atomic_store_n(&writer_done, 1, __ATOMIC_RELEASE);
		} else {
			merge_reader(id);
		}
		break;
	case R_IMERGE:
		if (id == 0) {
			int i;

			/* Once the splitter holds B (or will not). */
			HOLD_UNTIL_US(__atomic_load_n(&imerge_split_held, __ATOMIC_ACQUIRE),
				      10 * bound_us);
			for (i = 32; i < 40; i++) {
				u64 s = SPLIT_BASE + 16 * i;

				if (masstree_erase(&map, kb, slice_key(kb, s)) != entry(s))
					FAIL("erase of key %llu", (unsigned long long)s);
			}
			__atomic_store_n(&imerge_erased, 1, __ATOMIC_RELEASE);
			/* The splitter is done too: the readers may stop. */
			HOLD_UNTIL_US(__atomic_load_n(&writes_done, __ATOMIC_ACQUIRE) >=
				      READ_ONCE(collapse_writes), 1e6);
			__atomic_store_n(&writer_done, 1, __ATOMIC_RELEASE);
		} else {
			imerge_reader(id);
		}
		break;
	case R_REUSE:
		if (id == 0)
			refill_slot(kb, slice_key(kb, reuse_key(REUSE_GONE)),
				    reuse_key(REUSE_GONE), kb2,
				    slice_key(kb2, REUSE_NEW), REUSE_NEW);
		else if (id <= 3)
			reuse_reader(id);
		break;
	case R_BAG:
		if (id == 0)
			refill_slot(kb, bag_key(kb, BAG_POS, BAG_GONE),
				    bag_val(BAG_POS, BAG_GONE), kb2,
				    bag_key(kb2, BAG_POS, BAG_NEW),
				    bag_val(BAG_POS, BAG_NEW));
		else if (id <= 3)
			bag_reader(id);
		break;
	case R_REFILL:
		if (id == 0) {
			insert_or_fail(kb, slice_key(kb, reuse_key(REFILL_POS)),
				       REFILL_NEW);
			__atomic_store_n(&writer_done, 1, __ATOMIC_RELEASE);
		} else if (id <= 3) {
			reuse_reader(id);
		}
		break;
	case R_SPLIT:
		if (id == 0) {
			tl_writer = true;
			len = slice_key(kb, SPLIT_BASE - 1);
			insert_or_fail(kb, len, SPLIT_BASE - 1);
			tl_writer = false;
			__atomic_store_n(&writer_done, 1, __ATOMIC_RELEASE);
		} else {
			split_reader(id);
		}
		break;
	}
}

static void *worker_main(void *arg)
{
	int id = (int)(uintptr_t)arg;
	unsigned long g = 0, cur;

	tl_id = id;
	rcu_register_thread();
	for (;;) {
		while ((cur = __atomic_load_n(&gen, __ATOMIC_ACQUIRE)) == g)
			sched_yield();
		g = cur;
		if (g == ~0UL)
			break;
		/* All arrive, then all go at once (those on a CPU). */
		__atomic_fetch_add(&arrived, 1, __ATOMIC_ACQ_REL);
		while (__atomic_load_n(&arrived, __ATOMIC_ACQUIRE) < NWORKERS)
			sched_yield();
		run_role(id);
		worker_ops[id]++;
		__atomic_fetch_add(&done, 1, __ATOMIC_ACQ_REL);
	}
	mst_preload_drain();
	rcu_unregister_thread();
	return NULL;
}

/* Every key of @want present with its entry, nothing else; stats exact. */
static void check_map(const u8 (*want)[KLEN_MAX], const u32 *wlen,
		      void *const *wval, int n, bool nodes)
{
	struct masstree_cursor cur;
	struct masstree_stats st;
	struct mst_node_stats live;
	unsigned long walked = 0;
	void *got;
	int i;

	for (i = 0; i < n; i++) {
		got = masstree_load(&map, want[i], wlen[i]);
		if (got != wval[i])
			FAIL("key %d (len %u): load %p, expected %p", i, wlen[i],
			     got, wval[i]);
	}
	masstree_cursor_init(&cur, &map, GFP_KERNEL);
	masstree_for_each(&map, &cur, got)
		walked++;
	masstree_cursor_fini(&cur);
	if (walked != (unsigned long)n)
		FAIL("a cursor walk found %lu keys, expected %d", walked, n);
	if (masstree_validate(&map))
		FAIL("masstree_validate() failed");
	masstree_get_stats(&map, &st);
	if (st.keys != (unsigned long)n)
		FAIL("stats: %lu keys, expected %d", st.keys, n);
	/* validate() == 0: the counters equal what the map holds. */
	if (st.bytes != (st.leaves + st.internodes) * MST_NODE_BYTES +
	    mst_stat_read(&map, MST_STAT_SUFFIX_BYTES))
		FAIL("stats: %lu bytes, the counters say %lu", st.bytes,
		     (st.leaves + st.internodes) * MST_NODE_BYTES +
		     mst_stat_read(&map, MST_STAT_SUFFIX_BYTES));
	if (!nodes)
		return;
	/* Nodes freed by erase go after a grace period. */
	rcu_barrier();
	mst_node_stats_read(&live);
	if (live.leaves != (long)st.leaves || live.internodes != (long)st.internodes)
		FAIL("stats: %lu leaves %lu internodes, %ld and %ld allocated",
		     st.leaves, st.internodes, live.leaves, live.internodes);
}

#define MAXWANT		(PARENT_N + 16)
static u8 want[MAXWANT][KLEN_MAX];
static u32 wlen[MAXWANT];
static void *wval[MAXWANT];
static int nwant;

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return (x > y) - (x < y);
}

static bool in_list(const u64 *l, int n, u64 v)
{
	while (n--)
		if (l[n] == v)
			return true;
	return false;
}

static void want_key(const u8 *b, u32 len, unsigned long v)
{
	memcpy(want[nwant], b, len);
	wlen[nwant] = len;
	wval[nwant++] = entry(v);
}

static void put(const u8 *b, u32 len, unsigned long v)
{
	if (masstree_insert(&map, b, len, entry(v), GFP_KERNEL))
		FAIL("setup insert");
	want_key(b, len, v);
}

/* Set the map up for a round; @want lists what it must hold afterwards. */
static void setup(int k)
{
	u8 kb[KLEN_MAX];
	u32 len;
	int i;

	nwant = 0;
	switch (k) {
	case R_FIRST:
		for (i = 0; i < NWORKERS; i++)
			want_key(kb, first_key(kb, i), i);
		break;
	case R_LAYER_NEW:
		/* A neighbour, and the key whose slot becomes the layer. */
		put((const u8 *)"aaaa", 4, 100);
		len = layer_key(kb, 8, deep);
		put(kb, len, 8);
		for (i = 0; i < NWORKERS; i++)
			want_key(kb, layer_key(kb, i, deep), i);
		break;
	case R_LAYER_EMPTYING:
		/* A layer (or chain) down to one key: 9. */
		put((const u8 *)"aaaa", 4, 100);
		len = layer_key(kb, 9, deep);
		if (masstree_insert(&map, kb, len, entry(9), GFP_KERNEL))
			FAIL("setup insert");
		len = layer_key(kb, 8, deep);
		if (masstree_insert(&map, kb, len, entry(8), GFP_KERNEL))
			FAIL("setup of the layer");
		/* The erase's fold fails: the layer keeps its one key. */
		shim_fail_nth = 1;
		if (masstree_erase(&map, kb, len) != entry(8))
			FAIL("setup of the layer");
		if (shim_fail_nth)
			FAIL("setup: the erase did not try to fold the layer");
		shim_fail_nth = 0;
		for (i = 1; i < NWORKERS; i++)
			want_key(kb, layer_key(kb, i, deep), i);
		break;
	case R_PARENT:
		for (i = 0; i < PARENT_N; i++)
			put(kb, slice_key(kb, SPLIT_BASE + 16 * i), SPLIT_BASE + 16 * i);
		for (i = 0; i < 7; i++) {
			u64 a = SPLIT_BASE + 16 * (8 * PARENT_LEAF_A + i) + 8;
			u64 b = SPLIT_BASE + 16 * (8 * PARENT_LEAF_B + i) + 8;

			put(kb, slice_key(kb, a), a);
			put(kb, slice_key(kb, b), b);
		}
		want_key(kb, slice_key(kb, parent_key(PARENT_LEAF_A)),
			 parent_key(PARENT_LEAF_A));
		want_key(kb, slice_key(kb, parent_key(PARENT_LEAF_B)),
			 parent_key(PARENT_LEAF_B));
		break;
	case R_HANDOFF: {
		struct mst_internode *root;
		u64 leaf7[16];
		int n = 0;

		/* As the parent round: sixteen leaves of eight, then fills. */
		for (i = 0; i < PARENT_N; i++) {
			u64 s = SPLIT_BASE + 16 * i;

			if (masstree_insert(&map, kb, slice_key(kb, s), entry(s),
					    GFP_KERNEL))
				FAIL("setup insert");
			if (i / 8 == HANDOFF_LEAF)
				leaf7[n++] = s;
		}
		for (i = 0; i < 7; i++) {
			u64 s = SPLIT_BASE + 16 * (8 * HANDOFF_LEAF + i) + 8;

			if (masstree_insert(&map, kb, slice_key(kb, s), entry(s),
					    GFP_KERNEL))
				FAIL("setup insert");
			leaf7[n++] = s;
		}
		/*
		 * Leaf 8 up to twelve keys: the erased right half, the first
		 * child of its internode after the split, cannot then merge
		 * into it (one key and twelve do not fit in MST_MERGE_MAX),
		 * so it empties and hands its range over.
		 */
		for (i = 0; i < HANDOFF_NEXT_FILL; i++) {
			u64 s = SPLIT_BASE + 16 * (8 * (HANDOFF_LEAF + 1) + i) + 8;

			if (masstree_insert(&map, kb, slice_key(kb, s), entry(s),
					    GFP_KERNEL))
				FAIL("setup insert");
			want_key(kb, slice_key(kb, s), s);
		}
		/* With the split's key: sixteen, the upper eight erased. */
		leaf7[n++] = parent_key(HANDOFF_LEAF);
		qsort(leaf7, n, sizeof(leaf7[0]), cmp_u64);
		for (i = 0; i < 8; i++)
			handoff_gone[i] = leaf7[8 + i];
		for (i = 0; i < PARENT_N; i++) {
			u64 s = SPLIT_BASE + 16 * i;

			if (!in_list(handoff_gone, 8, s))
				want_key(kb, slice_key(kb, s), s);
			if (i / 8 == HANDOFF_LEAF && i % 8 != 7 &&
			    !in_list(handoff_gone, 8, s + 8))
				want_key(kb, slice_key(kb, s + 8), s + 8);
		}
		want_key(kb, slice_key(kb, parent_key(HANDOFF_LEAF)),
			 parent_key(HANDOFF_LEAF));
		want_key(kb, slice_key(kb, HANDOFF_KEY), HANDOFF_KEY);
		/* The right neighbour of leaf 7: child 8 of the full root. */
		root = mst_to_internode(rcu_dereference_protected(map.root, 1));
		if (root->nkeys != 15)
			FAIL("setup: the root internode has %u keys, not 15",
			     root->nkeys);
		handoff_next = mst_to_leaf(rcu_dereference_protected(root->child[8], 1));
		handoff_next_low = handoff_next->lowkey;
		break;
	}
	case R_COLLAPSE:
	case R_SPAN_MERGE:
		put((const u8 *)"aaaa", 4, 100);
		put(kb, collapse_key(kb, COLLAPSE_STAYS), COLLAPSE_STAYS);
		/* Two survivors: a span and a layer the erased key cuts. */
		if (k == R_SPAN_MERGE)
			put(kb, collapse_key(kb, COLLAPSE_STAYS2), COLLAPSE_STAYS2);
		len = collapse_gone_key(kb, k);
		if (masstree_insert(&map, kb, len, entry(COLLAPSE_GONE), GFP_KERNEL))
			FAIL("setup insert");
		for (i = 3; i < NWORKERS; i++)
			want_key(kb, collapse_key(kb, i), i);
		WRITE_ONCE(collapse_writes,
			   __atomic_load_n(&writes_done, __ATOMIC_ACQUIRE) + 3);
		break;
	case R_MERGE:
		for (i = 0; i < SPLIT_N; i++)
			put(kb, slice_key(kb, SPLIT_BASE + 16 * i), SPLIT_BASE + 16 * i);
		for (i = 0; i < SPLIT_FILL; i++)
			put(kb, slice_key(kb, SPLIT_BASE + 16 * i + 8),
			    SPLIT_BASE + 16 * i + 8);
		/* The second leaf down to its merge_src[] keys: no merge yet. */
		for (i = 8; i < 16; i++) {
			u64 s = SPLIT_BASE + 16 * i;

			if (!merge_is_src(s) &&
			    masstree_erase(&map, kb, slice_key(kb, s)) != entry(s))
				FAIL("setup erase");
		}
		if (mst_stat_read(&map, MST_STAT_LEAVES) != SPLIT_N / 8)
			FAIL("setup: %ld leaves", mst_stat_read(&map, MST_STAT_LEAVES));
		/* What stays, and reader 4's key. */
		nwant = 0;
		for (i = 0; i < SPLIT_N + SPLIT_FILL; i++) {
			u64 s = i < SPLIT_N ? SPLIT_BASE + 16 * i :
				SPLIT_BASE + 16 * (i - SPLIT_N) + 8;

			if ((i < 8 || i >= 16 || merge_is_src(s)) &&
			    !merge_is_gone(s))
				want_key(kb, slice_key(kb, s), s);
		}
		want_key(kb, slice_key(kb, MERGE_NEW), MERGE_NEW);
		break;
	case R_IMERGE: {
		struct mst_internode *root;

		for (i = 0; i < IMERGE_N; i++)
			put(kb, slice_key(kb, SPLIT_BASE + 16 * i), SPLIT_BASE + 16 * i);
		for (i = 64; i < 71; i++)
			put(kb, slice_key(kb, SPLIT_BASE + 16 * i + 8),
			    SPLIT_BASE + 16 * i + 8);
		for (i = 0; i < IMERGE_N; i++)
			if (imerge_gone(i) && i >= 40 &&
			    masstree_erase(&map, kb, slice_key(kb, SPLIT_BASE + 16 * i)) !=
			    entry(SPLIT_BASE + 16 * i))
				FAIL("setup erase");
		root = mst_to_internode(rcu_dereference_protected(map.root, 1));
		if (mst_node_is_leaf(&root->node) || root->nkeys != 1 ||
		    mst_to_internode(rcu_dereference_protected(root->child[0], 1))->nkeys != 4 ||
		    mst_to_internode(rcu_dereference_protected(root->child[1], 1))->nkeys != 6)
			FAIL("setup: not a root over internodes of 5 and 7 leaves");
		/* What stays: all but i 32..63 and 120..; the split's key. */
		nwant = 0;
		for (i = 0; i < IMERGE_N; i++)
			if (!imerge_gone(i))
				want_key(kb, slice_key(kb, SPLIT_BASE + 16 * i),
					 SPLIT_BASE + 16 * i);
		for (i = 64; i < 71; i++)
			want_key(kb, slice_key(kb, SPLIT_BASE + 16 * i + 8),
				 SPLIT_BASE + 16 * i + 8);
		want_key(kb, slice_key(kb, IMERGE_SPLIT), IMERGE_SPLIT);
		WRITE_ONCE(collapse_writes,
			   __atomic_load_n(&writes_done, __ATOMIC_ACQUIRE) + 1);
		break;
	}
	case R_REUSE:
	case R_REFILL: {
		int gone = k == R_REUSE ? REUSE_GONE : REFILL_POS;

		/* A full leaf: an erase frees its only free slot. */
		for (i = 0; i < REUSE_N; i++) {
			if (masstree_insert(&map, kb, slice_key(kb, reuse_key(i)),
					    entry(reuse_key(i)), GFP_KERNEL))
				FAIL("setup insert");
			if (i != gone)
				want_key(kb, slice_key(kb, reuse_key(i)), reuse_key(i));
		}
		if (mst_stat_read(&map, MST_STAT_LEAVES) != 1)
			FAIL("setup: %ld leaves", mst_stat_read(&map, MST_STAT_LEAVES));
		if (k == R_REUSE) {
			want_key(kb, slice_key(kb, REUSE_NEW), REUSE_NEW);
			break;
		}
		if (masstree_erase(&map, kb, slice_key(kb, reuse_key(gone))) !=
		    entry(reuse_key(gone)))
			FAIL("setup erase");
		want_key(kb, slice_key(kb, reuse_key(gone)), REFILL_NEW);
		break;
	}
	case R_BAG:
		/* A full leaf; the erase frees the slot the insert takes. */
		for (i = 0; i < REUSE_N; i++) {
			u64 second = i == BAG_POS ? BAG_GONE : BAG_STABLE;

			if (masstree_insert(&map, kb, bag_key(kb, i, second),
					    entry(bag_val(i, second)), GFP_KERNEL))
				FAIL("setup insert");
			if (i != BAG_POS)
				want_key(kb, bag_key(kb, i, second), bag_val(i, second));
		}
		if (mst_stat_read(&map, MST_STAT_LEAVES) != 1)
			FAIL("setup: %ld leaves", mst_stat_read(&map, MST_STAT_LEAVES));
		want_key(kb, bag_key(kb, BAG_POS, BAG_NEW), bag_val(BAG_POS, BAG_NEW));
		break;
	case R_SPLIT:
		for (i = 0; i < SPLIT_N; i++)
			put(kb, slice_key(kb, SPLIT_BASE + 16 * i), SPLIT_BASE + 16 * i);
		for (i = 0; i < SPLIT_FILL; i++)
			put(kb, slice_key(kb, SPLIT_BASE + 16 * i + 8),
			    SPLIT_BASE + 16 * i + 8);
		want_key(kb, slice_key(kb, SPLIT_BASE - 1), SPLIT_BASE - 1);
		break;
	}
}

int main(int argc, char **argv)
{
	pthread_t th[NWORKERS];
	struct masstree_stats st;
	unsigned long r;
	int opt, i;

	while ((opt = getopt(argc, argv, "r:b:s:")) != -1) {
		if (opt == 'r')
			rounds = strtoul(optarg, NULL, 0);
		else if (opt == 'b')
			bound_us = strtoul(optarg, NULL, 0);
		else if (opt == 's')
			seed = strtoul(optarg, NULL, 0);
		else
			return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	rcu_register_thread();
	if (mst_node_caches_init()) {
		fprintf(stderr, "races FAILED: node caches\n");
		return 1;
	}
	for (i = 0; i < NWORKERS; i++)
		pthread_create(&th[i], NULL, worker_main, (void *)(uintptr_t)i);
	WRITE_ONCE(masstree_test_hook, races_hook);

	for (r = 0; r < rounds && !READ_ONCE(failures); r++) {
		int k = (r + seed) % R_NR;

		round_now = r;
		where_now = round_name[k];
		WRITE_ONCE(deep, (r / R_NR) % 2);
		setup(k);
		/* Every other round of a kind runs without holds: pure races. */
		WRITE_ONCE(hold_on, (r / R_NR / 2) % 2 == 0 || k == R_SPLIT ||
			   k == R_PARENT || k == R_COLLAPSE || k == R_SPAN_MERGE ||
			   k == R_HANDOFF ||
			   k == R_MERGE || k == R_IMERGE || k == R_REUSE ||
			   k == R_REFILL || k == R_BAG);
		WRITE_ONCE(kind, k);
		__atomic_store_n(&arrived, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&done, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&writer_done, 0, __ATOMIC_RELAXED);
		WRITE_ONCE(split_window, 0);
		__atomic_store_n(&split_probe, 0, __ATOMIC_RELAXED);
		parent_calls = 0;
		__atomic_store_n(&parent_held, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&collapse_held, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&collapse_at_lock, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&handoff_in_leaf, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&handoff_held, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&handoff_inserted, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&handoff_reads, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&merge_reader_held, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&merge_erased, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&merge_held, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&imerge_split_held, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&imerge_erased, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&reuse_reader_held, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&reuse_refilled, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&gen, r + 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) < NWORKERS)
			sched_yield();
		WRITE_ONCE(hold_on, false);
		check_map((const u8 (*)[KLEN_MAX])want, wlen, wval, nwant,
			  r % 16 == 0);
		masstree_destroy(&map);
	}
	__atomic_store_n(&gen, ~0UL, __ATOMIC_RELEASE);
	for (i = 0; i < NWORKERS; i++)
		pthread_join(th[i], NULL);
	WRITE_ONCE(masstree_test_hook, NULL);
	where_now = "end";
	masstree_get_stats(&map, &st);
	if (st.keys || st.bytes)
		FAIL("destroyed map not empty");
	mst_preload_drain();
	mst_node_caches_exit();
	if (shim_live_allocs)
		FAIL("%ld allocations leaked", shim_live_allocs);
	if (shim_warnings)
		FAIL("%ld warnings", shim_warnings);
	printf("races: %lu rounds; held/met:", r);
	for (i = 0; i < R_NR; i++)
		printf(" %s %lu/%lu", round_name[i], held[i], met[i]);
	printf("; split probe held through the split %lu", split_probes);
	printf(", merge stale reader %lu, imerge splitter climbed again %lu",
	       merge_stale, imerge_reclimbed);
	printf("; reader lookups %lu %lu %lu %lu\n", reader_ops[1],
	       reader_ops[2], reader_ops[3], reader_ops[4]);
	for (i = 0; i < NWORKERS; i++)
		if (worker_ops[i] != r)
			FAIL("worker %d ran %lu rounds of %lu", i, worker_ops[i], r);
	/* A window nobody entered tested nothing. */
	for (i = 0; i < R_NR && !failures && r == rounds; i++)
		if (!met[i])
			FAIL("no %s window was met by another thread", round_name[i]);
	if (!failures && r == rounds && r >= R_NR && !split_probes)
		FAIL("the split probe never stood in its window through a split");
	if (failures)
		return 1;
	printf("races: PASS\n");
	return 0;
}
