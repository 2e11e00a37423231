#!/usr/bin/env python3
# Wraps raw authenticator lines into one pretty-printed get-query-results (qr) or
# filter-log-events (fle) document of about LIMIT bytes, as the AWS CLI prints them, for the
# memory measurements in BENCHMARKS.md:  scripts/bench-wrap.py qr|fle IN OUT LIMIT
import json,sys
shape,inp,out,limit=sys.argv[1],sys.argv[2],sys.argv[3],int(float(sys.argv[4]))
w=open(out,'w',buffering=1<<20); n=0; size=0
if shape=='qr': w.write('{\n    "results": [\n')
else: w.write('{\n    "events": [\n')
first=True
for i,line in enumerate(open(inp)):
    line=line.rstrip('\n'); ts=1795000000000+i*50
    if shape=='qr':
        t='%s.%03d'%(__import__('time').strftime('%Y-%m-%d %H:%M:%S',__import__('time').gmtime(ts//1000)),ts%1000)
        rec='        [\n            {\n                "field": "@timestamp",\n                "value": "%s"\n            },\n            {\n                "field": "@logStream",\n                "value": "authenticator-%d"\n            },\n            {\n                "field": "@message",\n                "value": %s\n            },\n            {\n                "field": "@ptr",\n                "value": "ptr%d"\n            }\n        ]'%(t,i%4,json.dumps(line),i)
    else:
        rec='        {\n            "logStreamName": "authenticator-%d",\n            "timestamp": %d,\n            "message": %s,\n            "ingestionTime": %d,\n            "eventId": "%d"\n        }'%(i%4,ts,json.dumps(line),ts+500,i)
    if not first: w.write(',\n')
    first=False
    w.write(rec); size+=len(rec)
    if size>=limit: break
if shape=='qr': w.write('\n    ],\n    "statistics": {"recordsMatched": 1.0, "recordsScanned": 1.0, "bytesScanned": 1.0},\n    "status": "Complete"\n}\n')
else: w.write('\n    ],\n    "searchedLogStreams": []\n}\n')
