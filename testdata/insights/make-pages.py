#!/usr/bin/env python3
"""Writes the GetQueryResults pages in this folder (fed to aws-smithy-mocks by
tests/cloudwatch_mock.rs). Rows follow the wire shape: lists of {field, value}, all
values strings. Run it from this folder after changing it; review the diff."""
import datetime
import json

S = 1_795_000_000  # window start, epoch seconds (2026-11-18)
B = S * 1000
G = 'arn:aws:iam::111122223333:user/alice'
AUTH = 'authenticator-0123456789abcdef0123456789abcdef'


def iso(ms):
    return datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def granted(ms, port):
    return (f'time="{iso(ms)}" level=info msg="access granted" arn="{G}" client="127.0.0.1:{port}" '
            'groups="[system:masters]" method=POST path=/authenticate '
            'uid="aws-iam-authenticator:111122223333:AIDAEXAMPLE" username=kubernetes-admin')


def denied(ms, port):
    return (f'time="{iso(ms)}" level=warning msg="access denied" arn="arn:aws:iam::111122223333:role/dev" '
            f'client="127.0.0.1:{port}" error="ARN is not mapped" method=POST path=/authenticate')


def aws_ts(ms):
    d = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return d.strftime('%Y-%m-%d %H:%M:%S.') + f'{ms % 1000:03d}'


def row(ptr, ms, msg, stream=AUTH, moto=False, drop=()):
    cells = [('@timestamp', str(ms) if moto else aws_ts(ms)), ('@message', msg), ('@logStream', stream),
             ('@log', '/aws/eks/demo/cluster' if moto else '123456789012:/aws/eks/demo/cluster'), ('@ptr', ptr)]
    return [{'field': f, 'value': v} for f, v in cells if f not in drop]


def cells(d):
    return [{'field': k, 'value': v} for k, v in d.items()]


def page(name, rows, note, stats=None, token=None):
    d = {'_comment': note, 'status': 'Complete', 'results': rows}
    if stats:
        d['statistics'] = stats
    if token:
        d['nextToken'] = token
    with open(name + '.json', 'w') as f:
        f.write(json.dumps(d, indent=1) + '\n')


page('two-lines', [row('p1', B + 5_250, granted(B + 5_250, 50001)), row('p2', B + 7_000, denied(B + 7_000, 50002))],
     'recent query, Complete: two authenticator lines, AWS timestamp format, with statistics',
     stats={'recordsMatched': 2.0, 'recordsScanned': 1500.0, 'bytesScanned': 2e9})
page('paged-1', [row(f'q{i}', B + i * 1000, granted(B + i * 1000, 51000 + i)) for i in range(3)],
     'first page of a Complete query; nextToken points at paged-2',
     stats={'recordsMatched': 5.0, 'recordsScanned': 10.0, 'bytesScanned': 1000.0}, token='page-2-token')
page('paged-2', [row(f'q{i}', B + i * 1000, granted(B + i * 1000, 51000 + i)) for i in range(3, 5)],
     'second and last page (no nextToken)')
page('split-full', [row(f's{i}', B + t, granted(B + t, 52000 + i)) for i, t in enumerate([10_000, 30_000, 50_000, 70_000])],
     f'window {S}..{S + 100} at limit 4: 4 rows = the cap, so the engine must split it')
page('split-left', [row(f's{i}', B + t, granted(B + t, 52000 + i)) for i, t in enumerate([10_000, 30_000, 50_000])],
     f'left half {S}..{S + 50}: 3 rows, the last one in the shared second {S + 50}')
page('split-right', [row('s2', B + 50_000, granted(B + 50_000, 52002)), row('s3', B + 70_000, granted(B + 70_000, 52003)),
                     row('s4', B + 90_000, granted(B + 90_000, 52004))],
     f'right half {S + 50}..{S + 100}: s2 is the shared second again (same @ptr); s4 was beyond the cap before')
AUDIT = ('{"kind":"Event","apiVersion":"audit.k8s.io/v1","user":{"username":"kubernetes-admin"},'
         '"annotations":{"msg":"access denied"}}')
page('mixed-streams', [
    row('1', B + 1_000, granted(B + 1_000, 53001), moto=True),
    row('2', B + 2_000, AUDIT, stream='kube-apiserver-audit-0123456789abcdef0123456789abcdef', moto=True),
    row('3', B + 3_000, denied(B + 3_000, 53003), moto=True),
    row('3', B + 3_000, denied(B + 3_000, 53003), moto=True),
    row('4', B + 4_000, 'x', moto=True, drop=('@message',)),
    row('5', B + 5_000, 'I1122 kube-apiserver line', stream='kube-apiserver-0123456789abcdef0123456789abcdef', moto=True),
], 'moto-shaped rows (epoch-ms @timestamp, bare @log): 2 authenticator lines, 2 rows from other streams '
   '(the server ignored the filter), a repeated @ptr, a row without @message')
page('agg-identities', [
    cells({'arn': G, 'username': 'kubernetes-admin', 'hits': '42', 'first_ms': str(B + 1000), 'last_ms': str(B + 90_000)}),
    cells({'arn': 'arn:aws:iam::111122223333:role/eks-node', 'username': 'system:node:{{EC2PrivateDNSName}}',
           'hits': '7', 'first_ms': str(B + 2000), 'last_ms': str(B + 80_000)}),
], 'agg-identities stats rows: all values strings, columns named by the query aliases',
   stats={'recordsMatched': 49.0, 'recordsScanned': 5000.0, 'bytesScanned': 1e9})
page('agg-failures', [
    cells({'error': 'ARN is not mapped', 'arn': 'arn:aws:iam::111122223333:role/dev', 'hits': '3',
           'first_ms': str(B + 3000), 'last_ms': str(B + 60_000)}),
    cells({'error': 'sts getCallerIdentity failed: error from AWS (expected 200, got 403). Body: ',
           'sts_code': 'InvalidClientTokenId', 'hits': '5', 'first_ms': str(B + 4000), 'last_ms': str(B + 70_000)}),
], 'agg-failures stats rows: the token failure has no arn (field absent), the STS one carries sts_code',
   stats={'recordsMatched': 8.0, 'recordsScanned': 5000.0, 'bytesScanned': 1e9})
page('moto-stats-ignored', [[{'field': '@ptr', 'value': '17'}], [{'field': '@ptr', 'value': '18'}]],
     'what moto returns for a stats query: one @ptr-only row per event')
AUDIT_STREAM = 'kube-apiserver-audit-0123456789abcdef0123456789abcdef'


def unauthorized(ms, ip, agent):
    us = f'{iso(ms)[:-1]}.{(ms % 1000) * 1000:06d}Z'
    return ('{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a-' + str(ms) + '",'
            '"stage":"ResponseStarted","requestURI":"/api/v1/namespaces/default/pods","verb":"list","user":{},'
            f'"sourceIPs":["{ip}"],"userAgent":"{agent}",'
            '"objectRef":{"resource":"pods","namespace":"default","apiVersion":"v1"},'
            '"responseStatus":{"metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401},'
            f'"requestReceivedTimestamp":"{us}","stageTimestamp":"{us}"}}')


page('audit-401s', [
    row('a1', B + 7_100, unauthorized(B + 7_100, '10.0.3.17', 'kubectl/v1.29.3 (linux/amd64) kubernetes/6813625'),
        stream=AUDIT_STREAM),
    row('a2', B + 7_200, denied(B + 7_200, 53010)),
], 'audit-unauthorized over one window: a 401 from an audit stream, and an authenticator row the '
   'server should have filtered out', stats={'recordsMatched': 1.0, 'recordsScanned': 900.0, 'bytesScanned': 3e6})
page('estimate', [cells({'estimatedBytes': '5000000'})],
     'an `| estimate` answer: one row, one numeric field (its name is not documented; any name is read)')
page('audit-forbidden', [
    cells({'user.username': 'testuser', 'user.extra.canonicalArn.0': 'arn:aws:iam::111122223333:user/testuser',
           'user.groups.0': 'system:authenticated', 'user.groups.1': 'dev-readers', 'verb': 'list',
           'objectRef.apiGroup': '', 'objectRef.resource': 'nodes', 'hits': '4', 'first_ms': str(B + 1000),
           'last_ms': str(B + 60_000),
           'example': 'nodes is forbidden: User "testuser" cannot list resource "nodes" in API group "" at the cluster scope'}),
], 'audit-forbidden stats rows: group-by columns named as the fields, empty subresource and namespace left out',
   stats={'recordsMatched': 4.0, 'recordsScanned': 90000.0, 'bytesScanned': 4e8})
page('audit-identities', [
    cells({'user.username': 'deployer', 'user.extra.canonicalArn.0': 'arn:aws:iam::111122223333:role/deployer',
           'user.extra.principalId.0': 'AROAEXAMPLEOLD', 'key_type': 'ASIA', 'hits': '5', 'first_ms': str(B + 1000),
           'last_ms': str(B + 2000)}),
    cells({'user.username': 'deployer', 'user.extra.canonicalArn.0': 'arn:aws:iam::111122223333:role/deployer',
           'user.extra.principalId.0': 'AROAEXAMPLENEW', 'key_type': 'AKIA', 'hits': '2', 'first_ms': str(B + 3000),
           'last_ms': str(B + 4000)}),
], 'audit-identities stats rows: one principal under two unique ids (re-created), one with a long-term key',
   stats={'recordsMatched': 7.0, 'recordsScanned': 90000.0, 'bytesScanned': 4e8})
