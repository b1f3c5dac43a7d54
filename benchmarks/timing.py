"Shared timing helper for the benchmark scripts: warm up, repeat, report the median."
import statistics, time

def median_time(fn, repeat: int = 5, warmup: int = 1) -> tuple[float, float, float]:
    "Run `fn` `warmup` times untimed, then `repeat` times; return (median, min, max) seconds."
    for _ in range(warmup): fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts), min(ts), max(ts)

def report(name: str, stats: tuple[float, float, float], unit_count: int | None = None, unit: str = 'items'):
    "Print one line: median and range, and throughput when `unit_count` is given."
    med, lo, hi = stats
    rate = f", {unit_count/med:,.0f} {unit}/s" if unit_count else ''
    print(f"{name:<48} median {med*1e3:9.1f} ms  (min {lo*1e3:.1f}, max {hi*1e3:.1f}){rate}")
    return med
