#!/bin/bash
# A second `featviz run` on a warm cache, then one after editing only chapter 05 (issue 22 item 8, issue 29 item 5).
#
#   bash benchmarks/warm_runs.sh CLONE OUT [MODE]
#
# CLONE: a fresh clone of this repository (its nbs/ are run and chapter 05 is edited there, never this checkout's);
# OUT: a folder for the logs; MODE: full (default) or quick. Run it right after `featviz run --MODE` filled the cache
# (the same FEATVIZ_CACHE and the README's FEATVIZ_* settings in the environment). It writes OUT/meta.txt (start and end
# of each command, from `date`, with the load average), OUT/warm.log, OUT/edit05.log and each run's log
# (OUT/warm-last.json, OUT/edit05-last.json: per-notebook and per-cell seconds; the clone's path written as CLONE).
set -u
CLONE=$(cd "$1" && pwd); mkdir -p "$2"; OUT=$(cd "$2" && pwd); MODE=${3:-full}
cd "$CLONE"
CACHE=$(python -c "from featviz.core.config import get_settings; print(get_settings().cache_dir)")
stamp() { echo "$1 $(date -u +%FT%TZ) $(date +%s) load $(cut -d' ' -f1-3 /proc/loadavg)${2:-}" >> "$OUT/meta.txt"; }
: > "$OUT/meta.txt"
stamp "warm start" " commit $(git rev-parse --short HEAD)"
featviz run --$MODE > "$OUT/warm.log" 2>&1; rc=$?
stamp "warm end" " rc $rc"; sed "s#$CLONE#CLONE#g" "$CACHE/artifacts/run/last.json" > "$OUT/warm-last.json"
python - <<'PY'
import json
p = 'nbs/05_evaluation.ipynb'; nb = json.load(open(p))
c = next(c for c in nb['cells'] if c.get('id') == '70355e8e')      # chapter 05's first study cell
c['source'] = ''.join(c['source']).rstrip('\n') + "\nprint('chapter 05 edited: an added print')"
json.dump(nb, open(p, 'w'), indent=1, ensure_ascii=False)
PY
stamp "edit05 start"
featviz run --$MODE > "$OUT/edit05.log" 2>&1; rc=$?
stamp "edit05 end" " rc $rc"; sed "s#$CLONE#CLONE#g" "$CACHE/artifacts/run/last.json" > "$OUT/edit05-last.json"
