# tests/scale/analyze.awk: figures out of scale_probe's samples.
#
#   awk -v mode=MODE [-v name=value ...] -f analyze.awk SAMPLES
#
# SAMPLES lines: "T LABEL KIND key=value ..." or "T LABEL KIND down", every
# line of one tick with the same T (wall seconds).  The committed total W(T)
# is the sum over every store ever seen of its last mds_bars_written_total
# (a store that stopped keeps its last figure).  Times given as t0, t1 ... are
# wall seconds; results are printed as key=value.
#
# Modes:
#   reach      t0 t1 target win: the first tick in [t0 + win, t1] whose
#              committed rate over the trailing `win` seconds (a window
#              wholly after t0) is >= target:
#              reach=SECONDS after t0 (or "none"), peak=the highest such rate
#              in [t0, t1], hold=the mean rate from that tick to t1
#   rate       t0 t1: mean committed rate over [t0, t1] (rows/s)
#   series     win: "T rate" for every tick (trailing window), for the logs
#   failsafe   t0 t1 [after_live=1]: per pipeline, the longest stretch with
#              mdp_feedback_failsafe = 1 inside [t0, t1] ("LABEL=SECONDS"),
#              from its first sample at 1 to the first sample back at 0;
#              total=the sum of all stretches over every pipeline; with
#              after_live=1 a pipeline's samples count only from its first
#              one with a live store (before, it has no member at all)
#   first      label key t0 above: seconds from t0 to the first sample of
#              `label` at or after t0 whose `key` > above ("none" if never)
#   value      label key at: `key` of `label` at the last sample <= at
#   scale_dev  label tb0 tp t1 band: the pipeline's scale smoothed by a
#              centred moving mean of 5 samples (0.5 s at 100 ms); its mean,
#              min and max over [tb0, tp) are the baseline; out = the time
#              after tp of the last smoothed sample in [tp, t1] outside
#              [min - band, max + band] (0 when none); low = the lowest
#              smoothed value in [tp, t1]
#   total      key kind: sum over labels of KIND of their last `key`

function kv(k,    i, n, a) {
    for (i = 4; i <= NF; i++) {
        n = index($i, "=")
        if (substr($i, 1, n - 1) == k) return substr($i, n + 1)
    }
    return ""
}

function flush_tick() {
    if (tick == "") return
    w = 0
    for (s in last_written) w += last_written[s]
    nt++
    T[nt] = tick + 0
    W[nt] = w
}

function rate_at(k, win,    j) {
    j = k
    while (j > 1 && T[j] > T[k] - win) j--
    if (T[k] - T[j] <= 0) return -1
    return (W[k] - W[j]) / (T[k] - T[j])
}

function at_or_after(t,    k) {
    for (k = 1; k <= nt; k++) if (T[k] >= t) return k
    return nt
}

function at_or_before(t,    k) {
    for (k = nt; k >= 1; k--) if (T[k] <= t) return k
    return 1
}

{
    if ($1 != tick) { flush_tick(); tick = $1 }
    if ($3 == "store" && $4 != "down") {
        v = kv("written")
        if (v != "nan" && v != "") last_written[$2] = v + 0
    }
    if (mode == "failsafe" && $3 == "pipe" && $4 != "down" && after_live && kv("live") + 0 >= 1)
        had_live[$2] = 1
    if (mode == "failsafe" && $3 == "pipe" && $4 != "down" && $1 >= t0 && $1 <= t1 \
        && (!after_live || (($2) in had_live))) {
        f = kv("failsafe") + 0
        if (f == 1 && !(($2) in since)) since[$2] = $1
        if (f != 1 && (($2) in since)) {
            d = $1 - since[$2]
            total += d
            if (d > longest[$2]) longest[$2] = d
            delete since[$2]
        }
        if (!(($2) in longest)) longest[$2] = 0
    }
    if (mode == "first" && $2 == label && $4 != "down" && $1 >= t0 && found == "") {
        v = kv(key)
        if (v != "nan" && v + 0 > above + 0) found = $1 - t0
    }
    if (mode == "value" && $2 == label && $4 != "down" && $1 <= at) {
        v = kv(key)
        if (v != "nan" && v != "") value = v
    }
    if (mode == "total" && $3 == kind && $4 != "down") {
        v = kv(key)
        if (v != "nan" && v != "") tot[$2] = v + 0
    }
    if (mode == "scale_dev" && $2 == label && $4 != "down") {
        v = kv("scale")
        if (v != "nan" && v != "") { sn++; st[sn] = $1 + 0; sv[sn] = v + 0 }
    }
}

END {
    flush_tick()
    if (mode == "reach") {
        r = "none"; peak = 0; hold = 0
        for (k = at_or_after(t0 + win); k <= nt && T[k] <= t1; k++) {
            x = rate_at(k, win)
            if (x > peak) peak = x
            if (r == "none" && x >= target) { r = T[k] - t0; rk = k }
        }
        if (r != "none") {
            e = at_or_before(t1)
            if (T[e] > T[rk]) hold = (W[e] - W[rk]) / (T[e] - T[rk])
            r = sprintf("%.2f", r)
        }
        printf "reach=%s peak=%.0f hold=%.0f\n", r, peak, hold
    } else if (mode == "rate") {
        a = at_or_after(t0); b = at_or_before(t1)
        printf "rate=%.0f\n", (T[b] > T[a]) ? (W[b] - W[a]) / (T[b] - T[a]) : 0
    } else if (mode == "series") {
        for (k = 1; k <= nt; k++) printf "%.3f %.0f\n", T[k], rate_at(k, win)
    } else if (mode == "failsafe") {
        for (p in since) {
            d = t1 - since[p]
            total += d
            if (d > longest[p]) longest[p] = d
        }
        out = ""
        for (p in longest) out = out sprintf("%s=%.2f ", p, longest[p])
        printf "%stotal=%.2f\n", out, total
    } else if (mode == "first") {
        printf "%s\n", found == "" ? "none" : sprintf("%.2f", found)
    } else if (mode == "value") {
        printf "%s\n", value == "" ? "nan" : value
    } else if (mode == "total") {
        s = 0
        for (p in tot) s += tot[p]
        printf "%.0f\n", s
    } else if (mode == "scale_dev") {
        for (i = 3; i <= sn - 2; i++) {
            ma = (sv[i - 2] + sv[i - 1] + sv[i] + sv[i + 1] + sv[i + 2]) / 5
            if (st[i] >= tb0 && st[i] < tp) {
                bn++; bsum += ma
                if (bn == 1 || ma < bmin) bmin = ma
                if (bn == 1 || ma > bmax) bmax = ma
            } else if (st[i] >= tp && st[i] <= t1) {
                an++; at_[an] = st[i]; av[an] = ma
            }
        }
        out = 0; low = ""
        for (i = 1; i <= an; i++) {
            if (av[i] < bmin - band || av[i] > bmax + band) out = at_[i] - tp
            if (low == "" || av[i] < low) low = av[i]
        }
        if (bn == 0) printf "baseline=none out=none\n"
        else printf "mean=%.3f min=%.3f max=%.3f low=%.3f out=%.2f\n", bsum / bn, bmin, bmax, low, out
    }
}
