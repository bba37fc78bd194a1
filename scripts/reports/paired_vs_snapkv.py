"""Paired comparison of composed methods against SnapKV alone at each KV-memory budget (issue 13's
closing note): mean paired score difference and the exact two-sided sign test over the samples
where they differ, the test the reports use against full attention.
Run: python3 scripts/reports/paired_vs_snapkv.py reports/precision-4k/niah_multikey_1/results.jsonl
"""
import json, sys, math
from collections import defaultdict
def load(path):
    rows=[json.loads(l) for l in open(path)]
    cells=defaultdict(dict)
    for r in rows:
        b = ('kv', r['kv_budget']) if r.get('kv_budget') is not None else r['budget']
        cells[(r['method'], json.dumps(b))][r['id']] = r['score']
    return cells
def sign_p(a, b):
    wins=sum(1 for x,y in zip(a,b) if x>y); losses=sum(1 for x,y in zip(a,b) if x<y); n=wins+losses
    if n==0: return 1.0
    k=min(wins,losses)
    p=sum(math.comb(n,i) for i in range(0,k+1))/2**n*2
    return min(1,p)
cells=load(sys.argv[1])
for kv in [0.0625, 0.125, 0.25]:
    key=json.dumps(['kv',kv])
    base=cells.get(('snapkv',key))
    for m in ['snapkv+kivi:bits=4','snapkv+kivi:bits=8']:
        other=cells.get((m,key))
        if not base or not other: continue
        ids=sorted(set(base)&set(other))
        a=[other[i] for i in ids]; b=[base[i] for i in ids]
        d=sum(x-y for x,y in zip(a,b))/len(ids)
        print(f"kv={kv} {m} vs snapkv: Δ={d:+.1f} n={len(ids)} p={sign_p(a,b):.4f}")
