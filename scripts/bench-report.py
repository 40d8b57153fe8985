#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write docs/benchmarks.md and the plots from masstree_bench result lines.

Input: one line per timed run, as masstree_bench.ko prints them (without
the "masstree_bench: " prefix), possibly several repetitions of each run:
the report uses the median. Output: DOCS/benchmarks.md (conditions, the
headline ratios, every measurement, memory per key, where masstree loses)
and, drawn by gnuplot: DOCS/bench-headline.png (masstree ÷ each
competitor, one bar group per workload, log scale, the repetitions'
spread as error bars and the noise band shaded), DOCS/bench-memory.png
(bytes per key) and DOCS/bench-<shape>-<dist>.png (throughput against
threads, one panel per workload, error bars from the repetitions).
"""
import argparse
import os
import statistics
import subprocess
import tempfile

STRUCTS = ['masstree', 'rbtree-rw', 'rbtree-spin', 'maple', 'xarray']
COMPETITORS = STRUCTS[1:]
SHAPES = ['int8', 'rand16', 'prefix24', 'rand32']
SHAPE_TEXT = {
    'int8': '8-byte big-endian integers, dense [0, N) in shuffled order',
    'rand16': '16 random bytes',
    'prefix24': '24 bytes: a 16-byte prefix common to all keys, 8 random bytes',
    'rand32': '32 random bytes',
}
WORKLOADS = ['insert', 'get', 'mix90', 'mix50', 'scan', 'erase']
WORKLOAD_TEXT = {
    'insert': 'insert every key into an empty map, keys split between threads',
    'get': 'get of present keys',
    'mix90': '90% get, 10% store (replace) of present keys',
    'mix50': '50% get, 50% store of present keys',
    'scan': 'forward scan of 100 keys from a present key (one op = one scan)',
    'erase': 'erase every key, keys split between threads',
}
DISTS = ['uniform', 'zipf']
KEYED = ('insert', 'erase')  # dist=none: run once per thread count


def parse(path):
    runs, mem, own = {}, {}, {}
    for line in open(path):
        f = dict(w.split('=', 1) for w in line.split() if '=' in w)
        if 'struct' not in f:
            continue
        threads = int(f['threads'])
        dists = DISTS if f['workload'] in KEYED else [f['dist']]
        for d in dists:
            key = (f['struct'], f['shape'], f['workload'], d, threads)
            # From the raw counts: the printed mops is rounded to 0.001.
            runs.setdefault(key, {})[f.get('seed', str(len(runs.get(key, {}))))] = \
                int(f['ops']) * 1000 / int(f['ns'])
        if 'bytes_per_key' in f:
            mem.setdefault((f['struct'], f['shape']), float(f['bytes_per_key']))
        if 'own_bytes_per_key' in f:
            own.setdefault((f['struct'], f['shape']), float(f['own_bytes_per_key']))
    med = {k: statistics.median(v.values()) for k, v in runs.items()}
    reps = max((len(v) for v in runs.values()), default=0)
    global PAIRED
    PAIRED = runs
    return med, mem, own, reps


def fmt_mops(v):
    if v is None:
        return '–'
    return f'{v:.4f}' if v < 0.01 else f'{v:.3f}' if v < 1 else f'{v:.2f}'


PAIRED = {}


def ratio(med, comp, shape, wl, dist, t):
    """masstree / @comp: the median of the ratios of runs with the same
    seed (the same keys and streams, run one after the other), else the
    ratio of the medians."""
    a = PAIRED.get(('masstree', shape, wl, dist, t), {})
    b = PAIRED.get((comp, shape, wl, dist, t), {})
    pairs = [a[k] / b[k] for k in a if k in b and b[k] > 0]
    if pairs:
        return statistics.median(pairs)
    a = med.get(('masstree', shape, wl, dist, t))
    b = med.get((comp, shape, wl, dist, t))
    if a is None or not b:
        return None
    return a / b


def fmt_ratio(r, mark=''):
    if r is None:
        return '–'
    s = f'{r:.2f}×'
    return (f'**{s}**' if r < 1 else s) + mark


def collapsed(med, s, shape, wl, dist, t):
    """Did @s fall below a fifth of its one-thread throughput?"""
    one = med.get((s, shape, wl, dist, 1))
    v = med.get((s, shape, wl, dist, t))
    return t > 1 and one is not None and v is not None and v < one / 5


def ratio_cell(med, comp, shape, wl, dist, t):
    mark = ('‡' if collapsed(med, comp, shape, wl, dist, t)
            or collapsed(med, 'masstree', shape, wl, dist, t) else '')
    return fmt_ratio(ratio(med, comp, shape, wl, dist, t), mark)


def structs_for(shape):
    return [s for s in STRUCTS if shape == 'int8' or s not in ('maple', 'xarray')]


COLOURS = {'masstree': '#1f77b4', 'rbtree-rw': '#d62728',
           'rbtree-spin': '#ff7f0e', 'maple': '#2ca02c', 'xarray': '#9467bd'}


def rep_ratios(comp, shape, wl, dist, t):
    """masstree / @comp for each repetition (runs with the same seed)."""
    a = PAIRED.get(('masstree', shape, wl, dist, t), {})
    b = PAIRED.get((comp, shape, wl, dist, t), {})
    return [a[k] / b[k] for k in sorted(a) if k in b and b[k] > 0]


def noise_band(med):
    """How far one repetition's ratio strays from its cell's median: the
    90th percentile over every cell with repetitions, as a factor."""
    devs = []
    for (s, shape, wl, dist, t) in med:
        if s == 'masstree':
            continue
        r = rep_ratios(s, shape, wl, dist, t)
        if len(r) < 2:
            continue
        m = statistics.median(r)
        devs += [max(x / m, m / x) for x in r]
    if not devs:
        return None
    devs.sort()
    return devs[min(len(devs) - 1, int(0.9 * len(devs)))]


def headline_plot(med, docs, tmp, threads, band):
    """masstree ÷ each competitor, int8 keys, uniform choice, one thread:
    a bar group per workload, bars growing up or down from 1.0."""
    t, comps = threads[0], [c for c in COMPETITORS
                            if any(k[0] == c and k[1] == 'int8' for k in med)]
    data = os.path.join(tmp, 'headline.dat')
    width = 0.8 / max(len(comps), 1)
    ys = []
    with open(data, 'w') as f:
        for i, c in enumerate(comps):
            f.write(f'# {c}: x r xlo xhi ylo yhi rmin rmax\n')
            for j, wl in enumerate(WORKLOADS):
                r = ratio(med, c, 'int8', wl, 'uniform', t)
                if r is None:
                    continue
                reps = rep_ratios(c, 'int8', wl, 'uniform', t) or [r]
                x = j - 0.4 + width * (i + 0.5)
                ys += [min(reps), max(reps)]
                f.write(f'{x} {r} {x - width * 0.45} {x + width * 0.45} '
                        f'{min(r, 1)} {max(r, 1)} {min(reps)} {max(reps)}\n')
            f.write('\n\n')
    lo = min(ys + [1 / (band or 1)]) / 1.6
    hi = max(ys + [band or 1]) * 1.6
    plots = []
    for i, c in enumerate(comps):
        plots.append(f"'{data}' index {i} using 1:2:3:4:5:6 with boxxyerror "
                     f"fs solid 0.85 lc rgb '{COLOURS[c]}' title 'masstree ÷ {c}'")
    for i, c in enumerate(comps):
        plots.append(f"'{data}' index {i} using 1:2:7:8 with yerrorbars "
                     f"ps 0 lw 1.2 lc rgb '#202020' notitle")
        plots.append(f"'{data}' index {i} using 1:(($2 < 1 ? $7 : $8)*($2 < 1 ? 0.88 : 1.1)):"
                     f"(sprintf('%.2f', $2)) with labels font ',7' notitle")
    if band:
        plots.append(f"NaN with boxes fs solid 1.0 lc rgb '#e6e6e6' "
                     f"title 'noise band (×/÷ {band:.2f})'")
    plots.append("NaN with lines lw 2 lc rgb '#000000' title 'equal (1.0)'")
    band_obj = (f"set object 1 rect from graph 0, first {1 / band} to graph 1, "
                f"first {band} behind fc rgb '#e6e6e6' fs solid noborder\n"
                if band else '')
    png = os.path.join(docs, 'bench-headline.png')
    script = f"""set terminal pngcairo size 1250,520 font 'sans,10'
set output '{png}'
set title 'masstree ÷ competitor, in-kernel, int8 keys, uniform key choice, {t} thread (above 1: masstree faster; log scale)'
set logscale y
set yrange [{lo}:{hi}]
set ytics (0.25, 0.5, 1, 2, 4, 8)
set ylabel 'throughput ratio'
set xrange [-0.6:{len(WORKLOADS) - 0.4}]
set xtics ({', '.join(f"'{wl}' {j}" for j, wl in enumerate(WORKLOADS))}) scale 0
set grid ytics
set key outside right center vertical
{band_obj}set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb '#000000' front
plot {', '.join(plots)}
"""
    subprocess.run(['gnuplot'], input=script, text=True, check=True)
    return os.path.basename(png)


def memory_plot(mem, docs, tmp):
    """Slab bytes per key after the inserts, a bar group per key shape."""
    shapes = [sh for sh in SHAPES if any(k[1] == sh for k in mem)]
    data = os.path.join(tmp, 'memory.dat')
    width = 0.8 / len(STRUCTS)
    with open(data, 'w') as f:
        for i, s in enumerate(STRUCTS):
            f.write(f'# {s}\n')
            for j, sh in enumerate(shapes):
                v = mem.get((s, sh))
                if v is not None:
                    f.write(f'{j - 0.4 + width * (i + 0.5)} {v} {width * 0.9}\n')
            f.write('\n\n')
    plots = []
    for i, s in enumerate(STRUCTS):
        plots.append(f"'{data}' index {i} using 1:2:3 with boxes fs solid 0.85 "
                     f"lc rgb '{COLOURS[s]}' title '{s}'")
    for i, s in enumerate(STRUCTS):
        plots.append(f"'{data}' index {i} using 1:($2+2):(sprintf('%.0f', $2)) "
                     f"with labels font ',8' notitle")
    png = os.path.join(docs, 'bench-memory.png')
    script = f"""set terminal pngcairo size 900,420 font 'sans,10'
set output '{png}'
set title 'Slab memory per key after inserting 100,000 keys (lower is better; maple tree and XArray take int8 keys only)'
set ylabel 'bytes per key'
set yrange [0:*]
set xrange [-0.6:{len(shapes) - 0.4}]
set xtics ({', '.join(f"'{sh}' {j}" for j, sh in enumerate(shapes))}) scale 0
set grid ytics
set key outside right center vertical
plot {', '.join(plots)}
"""
    subprocess.run(['gnuplot'], input=script, text=True, check=True)
    return os.path.basename(png)


def plot(med, threads, docs, shape, dist, tmp):
    """Mops/s against threads, a panel per workload: the median with the
    repetitions' range as error bars; one legend under the panels."""
    panels = []
    for n, wl in enumerate(WORKLOADS):
        data = os.path.join(tmp, f'{shape}-{dist}-{wl}.dat')
        with open(data, 'w') as f:
            for s in structs_for(shape):
                f.write(f'# {s}\n')
                for t in threads:
                    v = med.get((s, shape, wl, dist, t))
                    reps = list(PAIRED.get((s, shape, wl, dist, t), {}).values())
                    if v is not None:
                        f.write(f'{t} {v} {min(reps or [v])} {max(reps or [v])}\n')
                f.write('\n\n')
        plots = ', '.join(
            f"'{data}' index {i} using 1:2:3:4 with yerrorlines lw 2 pt 7 ps 0.8 "
            f"lc rgb '{COLOURS[s]}' title '{s}'"
            for i, s in enumerate(structs_for(shape)))
        key = ("set key horizontal maxrows 1 width 2 at screen 0.5, 0.03 center center\n"
               if n == 0 else "unset key\n")
        panels.append(f"set title '{wl}'\n{key}plot {plots}\n")
    png = os.path.join(docs, f'bench-{shape}-{dist}.png')
    script = f"""set terminal pngcairo size 1200,740 font 'sans,9'
set output '{png}'
set multiplot layout 2,3 margins 0.06,0.98,0.12,0.91 spacing 0.07,0.12 title 'masstree\\_bench: {shape} keys, {dist} key choice (Mops/s vs threads, median and range of the repetitions; QEMU TCG, 2 vCPUs)'
set xlabel 'threads'
set ylabel 'Mops/s'
set xtics ({', '.join(str(t) for t in threads)})
set xrange [{min(threads) - 0.5}:{max(threads) + 0.5}]
set yrange [0:*]
set grid
{''.join(panels)}unset multiplot
"""
    subprocess.run(['gnuplot'], input=script, text=True, check=True)
    return os.path.basename(png)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--results', required=True)
    p.add_argument('--docs', required=True)
    for a in ('cpu', 'host-cpus', 'qemu', 'kernel', 'load', 'keys', 'ms',
              'reps', 'commit', 'date'):
        p.add_argument('--' + a, default='?')
    a = p.parse_args()
    med, mem, own, reps = parse(a.results)
    threads = sorted({k[4] for k in med})
    out = []
    w = out.append

    w('# Benchmarks\n')
    w('Written by `make bench` (`scripts/bench.sh`, `scripts/bench-report.py`) '
      'from `masstree_bench.ko` runs; do not edit by hand.\n')
    w('## Conditions\n')
    w(f'- Measured {a.date} at commit `{a.commit}`.')
    w(f'- Guest: Linux {a.kernel}: tinyconfig + `scripts/kconfig/common.config` '
      '+ `lean.config` (no KASAN, KCSAN, lockdep or debug objects; SLUB, '
      'PREEMPT), booted under `qemu-system-x86_64 -accel tcg,thread=multi '
      '-smp 2 -m 2G`: **no KVM, every instruction is emulated** (TCG).')
    w(f'- Host: {a.cpu}, {a.host_cpus} CPUs shared with other work; '
      f'1-minute load average: {a.load} (2 would mean both host CPUs busy). '
      f'{a.qemu}.')
    w(f'- {a.keys} keys; get, mix and scan runs last {a.ms} ms each; insert '
      'and erase add up three rounds of filling and emptying every structure '
      '(the structures taking turns in each round, each going first in turn: '
      'one fill lasts a tenth of a second or so, at the mercy of the host\'s '
      'scheduler; after each structure\'s emptying the benchmark waits, '
      'untimed, for the frees it deferred through RCU, so that they run '
      'inside no other timing, and its erase figure leaves them out, as the '
      'native instruction counts do), and a get, '
      'mix or scan run is cut into five slices, the structures taking turns '
      'slice by slice, each going first in turn; each cell '
      f'is the median of {reps} repetitions (each with its own seed: new '
      'keys and new operation streams). Within a repetition the structures '
      'take turns at each workload, with the same keys and operation streams, '
      'so that a drift of the host\'s load hits them alike; a ratio is the '
      'median of the per-repetition ratios. Threads: kthreads released together '
      'from a barrier; 4 threads on 2 vCPUs shows oversubscription.')
    w('- **Ratios, not absolute speeds, are the claim.** TCG runs kernel code '
      'several times slower than hardware, and atomic instructions and '
      'cache-line transfers cost very differently there; a busy host '
      'preempts vCPUs that hold spinlocks, which hurts the lock-based '
      'structures in an irregular way. Treat differences under ~20% as noise.')
    w('- **‡** marks a structure that fell below a fifth of its own one-thread '
      'throughput with more threads (and the ratios involving it): on this '
      'emulated machine a vCPU spinning on a lock whose holder\'s host thread '
      'is descheduled burns its whole host time slice, so lock handovers cost '
      'milliseconds. Such ratios say "this lock collapses under TCG on a busy '
      'host", not what hardware would show. The one-thread column is the most '
      'trustworthy.')
    w('- Every run checks its answers (each get finds its key with the right '
      'entry, stores return the old entry, scans return the expected number '
      'of keys from the right first key, key counts after insert and erase); '
      'a wrong answer fails the module load and `make bench`.\n')
    w('Structures, each through its natural API: **masstree** (lockless '
      '`masstree_load()`, writers lock only the nodes they change, '
      '`masstree_scan()`); **rbtree-rw** / **rbtree-spin**: `struct rb_node` '
      'with the key inline, compared with `memcmp()`, the whole tree behind one '
      '`rwlock_t` / `spinlock_t` (nodes allocated before taking the lock, '
      'scans with `rb_next()` under the lock); **maple**: maple tree in RCU '
      'mode (`mtree_load()`, `mtree_insert()`, `mtree_store()`, '
      '`mtree_erase()`, `mt_for_each()`); **xarray**: `xa_load()`, '
      '`xa_insert()`, `xa_store()`, `xa_erase()`, `xa_for_each_range()`. '
      'Maple tree and XArray take integer keys only, so they run on int8 '
      'keys only. The scans use each structure\'s normal API: '
      '`masstree_scan()` reads a leaf per validated window and moves right '
      'along the leaf chain, one RCU read section per batch of up to 128 '
      'keys; `mt_for_each()` and `xa_for_each_range()` re-walk from the '
      'root for each entry; the rbtree holds its lock across the scan.\n')
    w('Key shapes: ' + '; '.join(f'**{s}**: {t}' for s, t in SHAPE_TEXT.items()) + '.\n')
    w('Workloads: ' + '; '.join(f'**{s}**: {t}' for s, t in WORKLOAD_TEXT.items())
      + '. Key choice for get, mix and scan: uniform, or Zipfian with '
      'θ = 0.99 (YCSB\'s; the hot keys are scattered over the key space).\n')

    band = noise_band(med)
    with tempfile.TemporaryDirectory() as tmp:
        head_png = headline_plot(med, a.docs, tmp, threads, band)
        mem_png = memory_plot(mem, a.docs, tmp)
    w('## Headline: masstree ÷ competitor, int8 keys\n')
    w(f'![masstree ÷ each competitor, int8 keys, one thread, per workload]({head_png})\n')
    w('Each bar is the median of the per-repetition ratios and grows from '
      '1.0 (equal) up where masstree is faster, down where it is slower; '
      'the whiskers span the repetitions\' ratios. '
      + (f'The grey band is the noise: 90% of all repetitions\' ratios '
         f'(every cell of the matrix) lie within ×/÷ {band:.2f} of their '
         'cell\'s median, so a bar inside it is not a difference.\n'
         if band else '\n'))
    w('Throughput of masstree divided by the competitor\'s, same workload, '
      'same threads; above 1 masstree is faster, **bold** where it is '
      'slower. Uniform key choice.\n')
    w('| competitor | workload | ' + ' | '.join(f'{t} thr' for t in threads) + ' |')
    w('|---|---|' + '---|' * len(threads))
    for c in COMPETITORS:
        for wl in ('get', 'insert', 'scan'):
            cells = [ratio_cell(med, c, 'int8', wl, 'uniform', t) for t in threads]
            w(f'| {c} | {wl} | ' + ' | '.join(cells) + ' |')
    w('')
    w('## Headline: masstree ÷ rbtree, longer keys\n')
    w('| competitor | shape | workload | ' + ' | '.join(f'{t} thr' for t in threads) + ' |')
    w('|---|---|---|' + '---|' * len(threads))
    for c in ('rbtree-rw', 'rbtree-spin'):
        for shape in SHAPES[1:]:
            for wl in ('get', 'insert', 'scan'):
                cells = [ratio_cell(med, c, shape, wl, 'uniform', t) for t in threads]
                w(f'| {c} | {shape} | {wl} | ' + ' | '.join(cells) + ' |')
    w('')

    w('## Scaling: throughput ÷ the same structure\'s own one-thread figure\n')
    w('How much more work more threads get done, per structure (uniform key '
      'choice). Two vCPUs: 2 threads can at best double; 4 threads are '
      'oversubscribed.\n')
    w('| structure | shape | workload | ' + ' | '.join(f'{t} thr' for t in threads[1:]) + ' |')
    w('|---|---|---|' + '---|' * len(threads[1:]))
    for shape in SHAPES:
        for st in structs_for(shape):
            for wl in ('insert', 'get'):
                one = med.get((st, shape, wl, 'uniform', threads[0]))
                if not one:
                    continue
                cells = []
                for t in threads[1:]:
                    v = med.get((st, shape, wl, 'uniform', t))
                    cells.append('–' if v is None else f'{v / one:.2f}×')
                w(f'| {st} | {shape} | {wl} | ' + ' | '.join(cells) + ' |')
    w('')

    w('## Where masstree loses\n')
    losses = {}
    total = {}
    for (s, shape, wl, dist, t) in med:
        if s == 'masstree' or (wl in KEYED and dist != 'uniform'):
            continue
        r = ratio(med, s, shape, wl, dist, t)
        if r is None:
            continue
        total[(s, wl)] = total.get((s, wl), 0) + 1
        if r < 1:
            losses.setdefault((s, wl), []).append((r, shape, dist, t))
    w('Cells (shape × key choice × threads) where masstree is slower, per '
      'competitor and workload, with the worst ratio:\n')
    w('| competitor | workload | cells lost | worst (masstree ÷ competitor) |')
    w('|---|---|---|---|')
    for c in COMPETITORS:
        for wl in WORKLOADS:
            if (c, wl) not in total:
                continue
            lost = sorted(losses.get((c, wl), []))
            worst = (f'{lost[0][0]:.2f}× ({lost[0][1]}, {lost[0][2]}, '
                     f'{lost[0][3]} thr)') if lost else '–'
            w(f'| {c} | {wl} | {len(lost)} of {total[(c, wl)]} | {worst} |')
    w('')

    w('## Memory per key\n')
    w(f'![slab bytes per key by key shape]({mem_png})\n')
    w('Slab memory in use after inserting every key (first thread count), '
      'minus before, divided by the number of keys: node sizes rounded up '
      'to their slab objects, slab pages partly filled included. masstree\'s '
      'own count (`masstree_get_stats()`: nodes and key suffixes) in '
      'parentheses.\n')
    w('| structure | ' + ' | '.join(SHAPES) + ' |')
    w('|---|' + '---|' * len(SHAPES))
    for s in STRUCTS:
        cells = []
        for shape in SHAPES:
            v = mem.get((s, shape))
            o = own.get((s, shape))
            cell = '–' if v is None else f'{v:.1f}'
            if o is not None:
                cell += f' ({o:.1f})'
            cells.append(cell)
        w(f'| {s} | ' + ' | '.join(cells) + ' |')
    w('')

    w('## All measurements (Mops/s, median)\n')
    w('A scan counts as one operation. The ratio columns are masstree ÷ that '
      'row\'s structure.\n')
    with tempfile.TemporaryDirectory() as tmp:
        for shape in SHAPES:
            if not any(k[1] == shape for k in med):
                continue
            w(f'### {shape}: {SHAPE_TEXT[shape]}\n')
            for dist in DISTS:
                png = plot(med, threads, a.docs, shape, dist, tmp)
                w(f'![{shape}, {dist}]({png})\n')
            w('| workload | key choice | structure | '
              + ' | '.join(f'{t} thr' for t in threads) + ' | '
              + ' | '.join(f'ratio {t}' for t in threads) + ' |')
            w('|---|---|---|' + '---|' * (2 * len(threads)))
            for wl in WORKLOADS:
                for dist in (['uniform'] if wl in KEYED else DISTS):
                    for s in structs_for(shape):
                        vals = [fmt_mops(med.get((s, shape, wl, dist, t)))
                                + ('‡' if collapsed(med, s, shape, wl, dist, t) else '')
                                for t in threads]
                        rats = ['' if s == 'masstree' else
                                ratio_cell(med, s, shape, wl, dist, t) for t in threads]
                        d = '–' if wl in KEYED else dist
                        w(f'| {wl} | {d} | {s} | ' + ' | '.join(vals) + ' | '
                          + ' | '.join(rats) + ' |')
            w('')
    with open(os.path.join(a.docs, 'benchmarks.md'), 'w') as f:
        f.write('\n'.join(out) + '\n')


if __name__ == '__main__':
    main()
