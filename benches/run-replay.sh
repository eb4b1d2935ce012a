#!/usr/bin/env bash
# Whole-process measurements, all in one run so the ratios are comparable (figures on a shared
# machine are noisy; the ratios are what the targets are about). Writes target/bench/results.md
# and the raw outputs next to it.
#
#   benches/run-replay.sh [EVENTS]        (default 20000; LOAD_SECS=30; REPEAT=3 alternating runs
#                                          of each ratio's two sides, fastest of each kept; MUSL=1
#                                          also builds musl and compares it with glibc)
#   STREAMS_ONLY=1 benches/run-replay.sh    only the Azure-shaped stream rows (issue 16) and the
#                                          no-regression rows (usage and mixed corpora, 1 thread);
#                                          writes target/bench/results-streams.md
#                                          (AZURE_EVENTS=2000 events per Azure mix; with MUSL=1
#                                          the musl binary runs the two stream ratios too)
#
# Needs: /usr/bin/time (apt-get install time), python3 with tiktoken (pip install tiktoken).
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS="${1:-20000}"
LOAD_SECS="${LOAD_SECS:-30}"
B=target/bench
R=$B/results
mkdir -p "$R"
rm -f "$R"/*.try*.*   # no run of an earlier invocation may be picked as the best of this one
BIN="${CARGO_TARGET_DIR:-target}/release/chargeback"
EX="${CARGO_TARGET_DIR:-target}/release/examples"

echo "== build" >&2
cargo build --release --bin chargeback --examples >&2

if [ "${STREAMS_ONLY:-0}" = 1 ]; then
  exec bash benches/run-streams.sh "$EVENTS"
fi

echo "== corpora (seed 42)" >&2
"$EX"/corpus --seed 42 --events "$EVENTS" --mix mixed --out $B/mixed.jsonl 2>$R/corpus-mixed.txt
"$EX"/corpus --seed 42 --events "$EVENTS" --mix usage --out $B/usage.jsonl 2>$R/corpus-usage.txt
"$EX"/corpus --seed 42 --events 1000 --mix tokenizer --out $B/tokenizer.jsonl 2>$R/corpus-tokenizer.txt
"$EX"/tokenizer_texts $B/tokenizer.jsonl >$B/texts.jsonl 2>$R/texts.txt
cat $R/corpus-*.txt $R/texts.txt >&2

# timed, keep_fastest, pair: see benches/timing.sh.
# shellcheck source=benches/timing.sh
source benches/timing.sh

echo "== tokenizer path: chargeback replay --threads 1 vs Python tiktoken.encode_ordinary" >&2
TIKTOKEN_CACHE_DIR="$(benches/setup-tiktoken-cache.sh)"
export TIKTOKEN_CACHE_DIR
# Alternately: the Python baseline (it times only its encode_ordinary calls and prints JSON; the
# fastest of the runs is kept) and the whole replay process.
for i in $(seq "${REPEAT:-3}"); do
  python3 benches/tiktoken_baseline.py "$B/texts.jsonl" >"$R/tiktoken.try$i.json" 2>"$R/tiktoken.err"
  timed "replay-tokenizer-t1.try$i" "$BIN" replay --threads 1 "$B/tokenizer.jsonl"
done
python3 - "$R" <<'PY'
import glob, json, shutil, sys
R = sys.argv[1]
runs = sorted(glob.glob(f"{R}/tiktoken.try*.json"), key=lambda f: json.load(open(f))["seconds"])
shutil.copy(runs[0], f"{R}/tiktoken.json")
PY
keep_fastest replay-tokenizer-t1
cat $R/tiktoken.json $R/tiktoken.err >&2
"$EX"/tokenizer_compare $B/texts.jsonl --pathological >$R/tokenizer-compare.jsonl

echo "== usage-present events: replay --threads 1 vs the serde_json parse-only floor" >&2
CMD_A=("$EX/parse_floor" "$B/usage.jsonl")
CMD_B=("$BIN" replay --threads 1 "$B/usage.jsonl")
pair floor-usage replay-usage-t1

echo "== mixed corpus: replay, 1 thread (all cores: with the load test below)" >&2
timed replay-mixed-t1 "$BIN" replay --threads 1 $B/mixed.jsonl
timed floor-mixed "$EX"/parse_floor $B/mixed.jsonl

echo "== both encodings loaded, two small events" >&2
cat samples/chat-stream-without-usage.jsonl samples/chat-stream-tool-call.jsonl >$B/two-encodings.jsonl
timed replay-two-encodings "$BIN" replay --threads 1 $B/two-encodings.jsonl

echo "== pathological single events" >&2
python3 benches/pathological.py $B/pathological >/dev/null
for f in "$B"/pathological/*.jsonl; do
  n=$(basename "$f" .jsonl)
  timed "patho-$n" "$BIN" replay --threads 1 --deadletter "$R/patho-$n.dead.jsonl" "$f"
  "$BIN" replay --threads 1 --deadletter /dev/null "$f" >"$R/patho-$n.out.jsonl"
done

echo "== handler: in-process p50/p99, then the 4-partition loopback load test" >&2
"$EX"/loadtest inprocess --requests 200 >$R/inprocess.json
cat $R/inprocess.json >&2
# Alternately, like the other ratios: one replay on all cores; replay back to back for as long as
# the load test runs (one ~2 s run picks a quiet moment of this shared machine, a 30 s span cannot,
# so the load test is judged against replay over the same span); then the load test itself. The
# fastest single replay, the best replay span and the best load run are kept.
for i in $(seq "${REPEAT:-3}"); do
  timed "replay-mixed.try$i" "$BIN" replay "$B/mixed.jsonl"
  # shellcheck disable=SC2016 # the loop's variables expand in the inner shell
  timed "replay-mixed-span.try$i" bash -c 'end=$((SECONDS + $1)); n=0
    while [ "$n" -eq 0 ] || [ "$SECONDS" -lt "$end" ]; do "$2" replay "$3" >/dev/null; n=$((n + 1)); done
    echo "$n" >"$4"' _ "$LOAD_SECS" "$BIN" "$B/mixed.jsonl" "$R/replay-mixed-span.try$i.runs"
  "$EX"/loadtest serve --corpus $B/mixed.jsonl --secs "$LOAD_SECS" --partitions 4 >"$R/load.try$i.json" || true
  cat "$R/load.try$i.json" >&2
done
keep_fastest replay-mixed
python3 - "$R" "$B" <<'PY'
import glob, json, shutil, sys
R, B = sys.argv[1], sys.argv[2]
def rate(f):
    try:
        return json.load(open(f)).get("events_per_s", 0)
    except ValueError:
        return 0
shutil.copy(max(glob.glob(f"{R}/load.try*.json"), key=rate), f"{R}/load.json")
events = sum(1 for l in open(f"{B}/mixed.jsonl", encoding="utf-8") if l.strip())
spans = []
for f in sorted(glob.glob(f"{R}/replay-mixed-span.try*.time")):
    wall, _, user, system = open(f).read().split()[:4]
    runs = int(open(f.replace(".time", ".runs")).read())
    spans.append({"runs": runs, "seconds": float(wall), "cpu_seconds": float(user) + float(system),
                  "events_per_s": runs * events / max(float(wall), 0.01)})
json.dump({"best": max(spans, key=lambda s: s["events_per_s"]), "all": spans},
          open(f"{R}/replay-span.json", "w"))
PY

if [ "${MUSL:-0}" = 1 ]; then
  echo "== musl release build" >&2
  cargo build --release --target x86_64-unknown-linux-musl --bin chargeback >&2
  echo "== the musl binary (what the Functions package runs) on the same corpora" >&2
  MUSL_BIN="${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-musl/release/chargeback"
  CMD_A=("$BIN" replay --threads 1 "$B/tokenizer.jsonl")
  CMD_B=("$MUSL_BIN" replay --threads 1 "$B/tokenizer.jsonl")
  pair glibc-replay-tokenizer-t1 musl-replay-tokenizer-t1
  CMD_A=("$BIN" replay --threads 1 "$B/usage.jsonl")
  CMD_B=("$MUSL_BIN" replay --threads 1 "$B/usage.jsonl")
  pair glibc-replay-usage-t1 musl-replay-usage-t1
fi

python3 - "$R" "$B" <<'PY'
import glob, json, os, sys
R, B = sys.argv[1], sys.argv[2]
def t(name):
    # /usr/bin/time has 10 ms resolution: a tiny corpus can time at 0.00 s, which would divide by 0.
    s, kb = open(f"{R}/{name}.time").read().split()[:2]
    return max(float(s), 0.01), int(kb)
def cpu(name):
    f = open(f"{R}/{name}.time").read().split()
    return float(f[2]) + float(f[3])
def size(p): return os.path.getsize(p)
def count_lines(p): return sum(1 for l in open(p, encoding="utf-8") if l.strip())
tk = json.load(open(f"{R}/tiktoken.json"))
rt, _ = t("replay-tokenizer-t1")
fu, _ = t("floor-usage"); ru, ru_kb = t("replay-usage-t1")
m1, m1_kb = t("replay-mixed-t1"); mm, mm_kb = t("replay-mixed"); fm, _ = t("floor-mixed")
_, two_kb = t("replay-two-encodings")
nu, nm = count_lines(f"{B}/usage.jsonl"), count_lines(f"{B}/mixed.jsonl")
su, sm, st = size(f"{B}/usage.jsonl"), size(f"{B}/mixed.jsonl"), size(f"{B}/tokenizer.jsonl")
ip = json.load(open(f"{R}/inprocess.json"))
ld = json.load(open(f"{R}/load.json"))
span = json.load(open(f"{R}/replay-span.json"))
loads = [json.load(open(f)) for f in sorted(glob.glob(f"{R}/load.try*.json"))]
load_errors = sum(l.get("errors", 1) for l in loads)
load_rates = ", ".join(f"{l.get('events_per_s', 0):,.0f}" for l in loads)
cmp = [json.loads(l) for l in open(f"{R}/tokenizer-compare.jsonl")]
bpe = next(c for c in cmp if c.get("encoder") == "bpe-openai" and c.get("input") == "corpus texts")
tkr = next(c for c in cmp if c.get("encoder") == "tiktoken-rs" and c.get("input") == "corpus texts")
mism = next(c for c in cmp if "count_mismatches" in c)["count_mismatches"]
bin_size = size("target/release/chargeback")
musl = "target/x86_64-unknown-linux-musl/release/chargeback"
musl_size = size(musl) if os.path.exists(musl) else None
mix_rate = nm / mm
rows = []
def row(target, measured, ok): rows.append(f"| {target} | {measured} | {'holds' if ok else 'MISSED'} |")
ratio = tk["seconds"] / rt
row("tokenizer path: `replay --threads 1` ≥ 2× Python `tiktoken.encode_ordinary` on the same texts, identical counts",
    f"{tk['bytes']/1e6:.1f} MB of text in {tk['texts']} texts ({st/1e6:.0f} MB of events): replay {rt:.2f} s (whole process, parsing included) vs tiktoken {tk['seconds']:.2f} s (encode only) = **{ratio:.2f}×**; {tk['count_mismatches']} count differences", ratio >= 2 and tk["count_mismatches"] == 0)
r = (nu / ru) / (nu / fu)
row("usage-present events: `replay` ≥ 50 % of the serde_json parse-only floor",
    f"{nu} events, {su/1e6:.0f} MB: replay --threads 1 {ru:.2f} s ({nu/ru:,.0f} ev/s, {su/1e6/ru:.0f} MB/s) vs floor {fu:.2f} s ({nu/fu:,.0f} ev/s) = **{r*100:.0f} %**", r >= 0.5)
row("handler: 100-event mixed batch in-process, p99 ≤ 2× p50",
    f"p50 {ip['p50_ms']:.1f} ms, p99 {ip['p99_ms']:.1f} ms = **{ip['p99_over_p50']:.2f}×** ({ip['requests']} requests, {ip['batch_bytes']/1e6:.1f} MB body)", ip["p99_over_p50"] <= 2)
sp = span["best"]
lr = ld.get("events_per_s", 0) / sp["events_per_s"]
lr_single = ld.get("events_per_s", 0) / mix_rate
server_per_cpu = ld.get("events_per_server_cpu_second", 0)
replay_per_cpu = sp["runs"] * nm / max(sp["cpu_seconds"], 0.01)
row("4-partition loopback load ≥ 80 % of `replay` on the same corpus, 0 errors",
    f"{ld.get('events_per_s',0):,.0f} ev/s ({ld.get('mb_per_s',0):.0f} MB/s) for {ld.get('seconds')} s, p50 {ld.get('p50_ms',0):.0f} ms, p99 {ld.get('p99_ms',0):.0f} ms "
    f"(best of {len(loads)} runs: {load_rates} ev/s; **{load_errors} errors** in all) vs `replay` (2 threads) back to back over the same span, "
    f"best of {len(span['all'])}: {sp['events_per_s']:,.0f} ev/s ({sp['runs']} runs in {sp['seconds']:.1f} s) = **{lr*100:.0f} %** wall clock, "
    f"with the load client on the same 2 cores ({ld.get('client_cpu_seconds', 0):.1f} CPU-s of its run). "
    f"Against the fastest single ~2 s replay run ({mix_rate:,.0f} ev/s): {lr_single*100:.0f} %. "
    f"Per CPU-second of the process: server {server_per_cpu:,.0f} ev/s vs replay {replay_per_cpu:,.0f} ev/s = {server_per_cpu/replay_per_cpu*100:.0f} %",
    lr >= 0.8 and load_errors == 0)
rss = ld.get("rss_mb_each_second", [])
row("RSS flat under load", f"RSS MB each second: {rss}; mean first half {ld.get('rss_mb_first_half_mean')}, second half {ld.get('rss_mb_second_half_mean')}",
    bool(rss) and ld.get("rss_mb_second_half_mean", 0) <= 1.05 * ld.get("rss_mb_first_half_mean", 1))
row("start-up: `GET /` answered ≤ 50 ms after the process starts", f"**{ld.get('startup_get_ms')} ms** (RSS {ld.get('rss_mb_after_start')} MB then, {ld.get('rss_mb_encoders_loaded')} MB once both encoders are built)", (ld.get("startup_get_ms") or 1e9) <= 50)
row("peak RSS with both encodings loaded ≤ 150 MB", f"replay of one cl100k + one o200k event: **{two_kb/1024:.0f} MB**; serve idle with both built: {ld.get('rss_mb_encoders_loaded')} MB (under load: see above; replay of the 20k mixed corpus: {m1_kb/1024:.0f} MB at 1 thread, {mm_kb/1024:.0f} MB at 2)", two_kb / 1024 <= 150)
row("release binary size", f"glibc {bin_size/1e6:.1f} MB" + (f"; musl **{musl_size/1e6:.1f} MB**" if musl_size else "; musl: run with MUSL=1"), True)
if os.path.exists(f"{R}/musl-replay-tokenizer-t1.time"):
    # musl and glibc binaries run alternately; the musl/glibc factor scales the glibc ratios.
    gt, _ = t("glibc-replay-tokenizer-t1"); mt, mt_kb = t("musl-replay-tokenizer-t1")
    gu, _ = t("glibc-replay-usage-t1"); mu, _ = t("musl-replay-usage-t1")
    tok_musl = tk["seconds"] / (rt * mt / gt)
    use_musl = fu / (ru * mu / gu)
    row("the same two ratios with the static musl binary the Functions package runs",
        f"musl vs glibc, run alternately: tokenizer corpus {mt:.2f} s vs {gt:.2f} s, usage corpus {mu:.2f} s vs {gu:.2f} s; so tokenizer path **{tok_musl:.2f}×** tiktoken (peak RSS {mt_kb/1024:.0f} MB), usage-present **{use_musl*100:.0f} %** of the floor",
        tok_musl >= 2 and use_musl >= 0.5)
for f in sorted(glob.glob(f"{R}/patho-*.time")):
    n = os.path.basename(f)[6:-5]
    s, kb = t(f"patho-{n}")
    out = [json.loads(l) for l in open(f"{R}/patho-{n}.out.jsonl") if l.strip()]
    dead = [json.loads(l) for l in open(f"{R}/patho-{n}.dead.jsonl") if l.strip()]
    what = (f"record: {out[0]['countSource']}, completion {out[0]['completionTokens']} tokens" if out
            else f"dead letter: {dead[0]['reason'][:60]}" if dead else "skipped cleanly (no response body)")
    row(f"pathological: {n} ≤ 1 s", f"{s:.2f} s, {kb/1024:.0f} MB; {what}", s <= 1.0)
with open(f"{R}/../results.md", "w") as o:
    o.write("| target | measured | |\n|---|---|---|\n" + "\n".join(rows) + "\n\n")
    o.write(f"Mixed corpus ({nm} events, {sm/1e6:.0f} MB): replay --threads 1 {m1:.2f} s = {nm/m1:,.0f} ev/s, {sm/1e6/m1:.0f} MB/s, peak RSS {m1_kb/1024:.0f} MB; "
            f"replay (2 threads) {mm:.2f} s = {nm/mm:,.0f} ev/s, {sm/1e6/mm:.0f} MB/s, peak RSS {mm_kb/1024:.0f} MB; parse-only floor {fm:.2f} s = {nm/fm:,.0f} ev/s.\n\n")
    o.write(f"Tokenizers on the same {tk['bytes']/1e6:.1f} MB of texts, single-threaded, encode/count only: bpe-openai {bpe['seconds']:.2f} s ({bpe['mb_per_s']} MB/s), "
            f"tiktoken-rs {tkr['seconds']:.2f} s ({tkr['mb_per_s']} MB/s), Python tiktoken {tk['seconds']:.2f} s ({tk['mb_per_s']} MB/s); {mism} count differences between the Rust two.\n")
print(open(f"{R}/../results.md").read())
PY
