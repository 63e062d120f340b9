import re,sys
for f in sys.argv[1:]:
    r=sorted(float(m.group(1)) for m in re.finditer(r"time=([\d.]+) ms",open(f).read()))
    if not r: print(f,"none"); continue
    print(f"{f}: n={len(r)} avg={sum(r)/len(r):.2f} p50={r[len(r)//2]:.2f} p90={r[int(len(r)*0.9)]:.2f} p99={r[min(len(r)-1,int(len(r)*0.99))]:.2f} max={r[-1]:.2f}")
