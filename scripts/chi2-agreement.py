#!/usr/bin/env python3
"""Agreement of two association scans on the variants they share: the benchmarks' one χ² comparison.

    scripts/chi2-agreement.py REFERENCE OTHER [--names REF_NAME OTHER_NAME]

Each file is read by its header:
  - lmmspark's <out>.assoc.tsv.gz (or plain .tsv): columns variant_id and chi2 (NA rows skipped);
  - BOLT-LMM's --statsFile: columns SNP, BETA and SE; the BOLT-LMM-inf χ² is (BETA/SE)².
Prints the number of common variants, the correlation of their χ², the mean χ² of each and their ratio,
the largest relative difference among variants with reference χ² > 10, and λGC of each. Plain Python: no numpy.
"""
import argparse
import gzip
import math

CHI2_1DF_MEDIAN = 0.4549364  # median of χ²(1): λGC = median χ² / this


def read_chi2(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        head = f.readline().split()
        chi2 = {}
        if "chi2" in head:
            iv, ic = head.index("variant_id"), head.index("chi2")
            for line in f:
                t = line.split()
                if t[ic] not in ("", "NA"):
                    chi2[t[iv]] = float(t[ic])
        elif {"SNP", "BETA", "SE"} <= set(head):
            iv, ib, ise = head.index("SNP"), head.index("BETA"), head.index("SE")
            for line in f:
                t = line.split()
                if float(t[ise]) > 0:
                    chi2[t[iv]] = (float(t[ib]) / float(t[ise])) ** 2
        else:
            raise SystemExit(f"{path}: header has neither variant_id/chi2 (lmmspark) nor SNP/BETA/SE (BOLT-LMM)")
    if not chi2:
        raise SystemExit(f"{path}: no χ² values")
    return chi2


def median(v):
    s = sorted(v)
    return s[len(s) // 2]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("reference")
    p.add_argument("other")
    p.add_argument("--names", nargs=2, default=("reference", "other"), metavar=("REF_NAME", "OTHER_NAME"))
    args = p.parse_args()
    ref, oth = read_chi2(args.reference), read_chi2(args.other)
    keys = sorted(set(ref) & set(oth))
    if len(keys) < 2:
        raise SystemExit(f"only {len(keys)} variants in common")
    a = [ref[k] for k in keys]
    b = [oth[k] for k in keys]
    n = len(keys)
    ma, mb = sum(a) / n, sum(b) / n
    sab = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    saa = sum((x - ma) ** 2 for x in a)
    sbb = sum((y - mb) ** 2 for y in b)
    big = [abs(y - x) / x for x, y in zip(a, b) if x > 10]
    rn, on = args.names
    print(f"variants: {len(ref)} {rn}, {len(oth)} {on}, {n} common")
    print(f"chi2 correlation ({on} vs {rn}): {sab / math.sqrt(saa * sbb):.6f}")
    print(f"mean chi2: {ma:.4f} {rn}, {mb:.4f} {on} (ratio {on}/{rn} {mb / ma:.5f})")
    print(f"largest relative chi2 difference among {len(big)} variants with {rn} chi2 > 10: "
          f"{max(big) if big else float('nan'):.4f}")
    print(f"lambda GC: {rn} {median(a) / CHI2_1DF_MEDIAN:.4f}, {on} {median(b) / CHI2_1DF_MEDIAN:.4f}")


if __name__ == "__main__":
    main()
