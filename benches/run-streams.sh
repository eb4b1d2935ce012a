#!/usr/bin/env bash
# The stream rows of the performance table (issue 16), called by `STREAMS_ONLY=1
# benches/run-replay.sh` after its release build: Azure-shaped streams with and without the
# usage chunk against the `IgnoredAny` floor, the tokenizer counts against Python tiktoken on
# those streams' texts, and the usage and mixed corpora at 1 thread (no regression). Every
# ratio's two sides run alternately, REPEAT=3 times each, the fastest of each kept; all runs are
# pinned to one core (taskset -c 1) so "one core" holds whatever else the machine runs.
# Writes target/bench/results-streams.md.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS="${1:-20000}"
AZURE_EVENTS="${AZURE_EVENTS:-2000}"
B=target/bench
R=$B/results
mkdir -p "$R"
rm -f "$R"/*.try*.*
BIN="${CARGO_TARGET_DIR:-target}/release/chargeback"
EX="${CARGO_TARGET_DIR:-target}/release/examples"
PIN=(taskset -c "${CORE:-1}")
# The targets are in CPU time (user + system): the fastest run is the one with the least CPU.
export KEY=cpu

echo "== corpora (seed 42)" >&2
"$EX"/corpus --seed 42 --events "$AZURE_EVENTS" --mix azure-usage --out $B/azure-usage.jsonl 2>$R/corpus-azure-usage.txt
"$EX"/corpus --seed 42 --events "$AZURE_EVENTS" --mix azure-text --out $B/azure-text.jsonl 2>$R/corpus-azure-text.txt
"$EX"/corpus --seed 42 --events "$EVENTS" --mix usage --out $B/usage.jsonl 2>$R/corpus-usage.txt
"$EX"/corpus --seed 42 --events "$EVENTS" --mix mixed --out $B/mixed.jsonl 2>$R/corpus-mixed.txt
"$EX"/corpus --seed 42 --events 1000 --mix tokenizer --out $B/tokenizer.jsonl 2>$R/corpus-tokenizer.txt
"$EX"/tokenizer_texts $B/azure-text.jsonl >$B/azure-texts.jsonl 2>$R/azure-texts.txt
"$EX"/tokenizer_texts $B/tokenizer.jsonl >$B/texts.jsonl 2>$R/texts.txt
cat $R/corpus-*.txt $R/azure-texts.txt $R/texts.txt >&2

# shellcheck source=benches/timing.sh
source benches/timing.sh

for c in azure-usage azure-text usage mixed; do
  echo "== $c: replay --threads 1 vs the IgnoredAny floor" >&2
  CMD_A=("$EX/parse_floor" --ignored-any "$B/$c.jsonl")
  CMD_B=("$BIN" replay --threads 1 "$B/$c.jsonl")
  pair "floor-ia-$c" "replay-$c-t1"
done
for c in azure-usage azure-text; do
  echo "== $c: parse_event alone (the event read, bodies decoded), for the breakdown" >&2
  for i in $(seq "${REPEAT:-3}"); do timed "parse-event-$c.try$i" "$EX/parse_floor" --parse-event "$B/$c.jsonl"; done
  keep_fastest "parse-event-$c"
done

echo "== handler: one 100-event mixed batch in-process, p50/p99 (no regression)" >&2
"${PIN[@]}" "$EX"/loadtest inprocess --requests 200 >"$R/inprocess-streams.json"
cat "$R/inprocess-streams.json" >&2

if [ "${MUSL:-0}" = 1 ]; then
  echo "== musl release build" >&2
  cargo build --release --target x86_64-unknown-linux-musl --bin chargeback >&2
  MUSL_BIN="${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-musl/release/chargeback"
  for c in azure-usage azure-text; do
    CMD_A=("$EX/parse_floor" --ignored-any "$B/$c.jsonl")
    CMD_B=("$MUSL_BIN" replay --threads 1 "$B/$c.jsonl")
    pair "musl-floor-ia-$c" "musl-replay-$c-t1"
  done
fi

echo "== tokenizer: replay vs Python tiktoken.encode_ordinary, Azure texts and the tokenizer corpus" >&2
TIKTOKEN_CACHE_DIR="$(benches/setup-tiktoken-cache.sh)"
export TIKTOKEN_CACHE_DIR
for t in azure-texts:azure-text texts:tokenizer; do
  texts="${t%%:*}" events="${t##*:}"
  for i in $(seq "${REPEAT:-3}"); do
    "${PIN[@]}" python3 benches/tiktoken_baseline.py "$B/$texts.jsonl" >"$R/tiktoken-$texts.try$i.json" 2>"$R/tiktoken-$texts.err"
    timed "replay-$events-tk.try$i" "$BIN" replay --threads 1 "$B/$events.jsonl"
  done
  keep_fastest "replay-$events-tk"
done

python3 - "$R" "$B" <<'PY'
import glob, json, os, sys
R, B = sys.argv[1], sys.argv[2]
def t(name):
    """CPU seconds (user + system), peak RSS (KB) and wall seconds of one timed run."""
    wall, kb, user, system = open(f"{R}/{name}.time").read().split()[:4]
    return max(float(user) + float(system), 0.01), int(kb), float(wall)
def lines(p): return sum(1 for l in open(p, encoding="utf-8") if l.strip())
rows = []
def row(target, measured, ok):
    rows.append(f"| {target} | {measured} | {'holds' if ok else 'MISSED'} |")
goals = {"azure-usage": ("Azure-shaped streams with the usage chunk: `replay` ≥ 70 % of the IgnoredAny floor", 0.70),
         "azure-text": ("Azure-shaped streams without usage: `replay` ≥ 60 % of the IgnoredAny floor", 0.60),
         "usage": ("usage corpus (no regression), against the IgnoredAny floor", None),
         "mixed": ("mixed corpus (no regression), against the IgnoredAny floor", None)}
for c, (goal, need) in goals.items():
    for prefix, label in (("", ""), ("musl-", " — musl binary")):
        if not os.path.exists(f"{R}/{prefix}replay-{c}-t1.time"):
            continue
        n, size = lines(f"{B}/{c}.jsonl"), os.path.getsize(f"{B}/{c}.jsonl")
        r, r_kb, rw = t(f"{prefix}replay-{c}-t1"); f, _, fw = t(f"{prefix}floor-ia-{c}")
        ratio = f / r
        extra = ""
        if not prefix and os.path.exists(f"{R}/parse-event-{c}.time"):
            p, _, _ = t(f"parse-event-{c}")
            extra = f"; `parse_event` alone {p:.2f} s ({p/r*100:.0f} % of replay's CPU)"
        row(goal + label, f"{n} events, {size/1e6:.0f} MB: replay --threads 1 {r:.2f} CPU-s ({size/1e6/r:.0f} MB/s, wall {rw:.2f} s, peak RSS {r_kb/1024:.0f} MB) vs floor {f:.2f} CPU-s ({size/1e6/f:.0f} MB/s) = **{ratio*100:.0f} %**{extra}",
            need is None or ratio >= need)
for texts, events in (("azure-texts", "azure-text"), ("texts", "tokenizer")):
    runs = sorted((json.load(open(p)) for p in glob.glob(f"{R}/tiktoken-{texts}.try*.json")), key=lambda j: j["seconds"])
    tk = runs[0]
    r, _, _ = t(f"replay-{events}-tk")
    row(f"{events} corpus: `replay --threads 1` (whole process) vs Python `tiktoken.encode_ordinary` alone, identical counts",
        f"{tk['texts']} texts, {tk['bytes']/1e6:.1f} MB of text in {os.path.getsize(f'{B}/{events}.jsonl')/1e6:.0f} MB of events: replay {r:.2f} CPU-s vs tiktoken {tk['seconds']:.2f} s = **{tk['seconds']/r:.2f}×**; {tk['count_mismatches']} count differences",
        tk["count_mismatches"] == 0)
ip = json.load(open(f"{R}/inprocess-streams.json"))
row("handler: 100-event mixed batch in-process, p99 ≤ 2× p50 (one core)",
    f"p50 {ip['p50_ms']:.1f} ms, p99 {ip['p99_ms']:.1f} ms = **{ip['p99_over_p50']:.2f}×** ({ip['requests']} requests, {ip['batch_bytes']/1e6:.1f} MB body)",
    ip["p99_over_p50"] <= 2)
with open(f"{B}/results-streams.md", "w") as o:
    o.write("| target | measured | |\n|---|---|---|\n" + "\n".join(rows) + "\n")
print(open(f"{B}/results-streams.md").read())
PY
