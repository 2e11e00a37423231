#!/usr/bin/env python3
"""Builds testdata/sample.log, the bundled sample the README's quickstart reads.

One morning of cluster `demo` (us-east-1), written as the EKS authenticator would log it:
an authenticator restart with its static mappings (the creator among them), the creator,
SSO developers, nodes and EKS-internal roles authenticating, and every failure class from
testdata/classes/ re-timed into the morning, plus a few lines that are not authenticator
lines, so the line accounting has something to show. Deterministic: run it again and the
file is the same.

    python3 scripts/make-sample.py > testdata/sample.log
"""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DAY = "2026-11-20"
ACCT = "111122223333"


def t(minutes, seconds=0):
    return f"{DAY}T{8 + minutes // 60:02d}:{minutes % 60:02d}:{seconds:02d}Z"


port = [40000]


def client():
    port[0] += 7
    return f"127.0.0.1:{port[0]}"


def sts(ts, c, role, session, userid, akid="ASIAEXAMPLEEXAMPLE12"):
    return (f'time="{ts}" level=info msg="STS response" accesskeyid={akid} accountid={ACCT} '
            f'arn="arn:aws:sts::{ACCT}:assumed-role/{role}/{session}" client="{c}" method=POST '
            f'path=/authenticate session={session} stsendpoint=sts.us-east-1.amazonaws.com userid={userid}')


def q(v):
    safe = re.fullmatch(r"[A-Za-z0-9\-._/@^+]+", v)
    return v if safe else '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def grant(ts, c, arn, groups, userid, username):
    return (f'time="{ts}" level=info msg="access granted" arn="{arn}" client="{c}" groups="{groups}" '
            f'method=POST path=/authenticate stsendpoint=sts.us-east-1.amazonaws.com '
            f'uid="aws-iam-authenticator:{ACCT}:{userid}" username={q(username)}')


def login(ts, role, session, userid, username, groups):
    c = client()
    return [sts(ts, c, role, session, userid), grant(ts, c, f"arn:aws:iam::{ACCT}:role/{role}", groups, userid, username)]


events = []  # (sort key, line)

# 08:00 authenticator restart: static mappings (the creator's is the one EKS writes).
start = [
    'level=info msg="starting mapper \\"MountedFile\\""',
    'level=info msg="starting mapper \\"EKSConfigMap\\""',
    'level=info msg="starting mapper \\"DynamicFile\\""',
    f'level=info msg="mapping IAM role" groups="[system:masters]" role="arn:aws:iam::{ACCT}:role/PlatformAdmin" username=kubernetes-admin',
    f'level=info msg="mapping IAM role" groups="[]" role="arn:aws:iam::{ACCT}:role/AWSWesleyClusterManagerLambda-NodeManagerRole-1XKG670YXPD3V" username="eks:node-manager"',
    'level=info msg="listening on :21362"',
]
for i, line in enumerate(start):
    events.append(((0, i), f'time="{t(0)}" {line}'))
events.append(((0, 10), 'Authenticator Version: "v0.7.18", "81b1daba00d194c00d3cdd8b0a0fece5ba648d4e"'))
events.append(((0, 11), "W1120 08:00:03.412345       1 reflector.go:324] watch of *v1.ConfigMap ended with: too old resource version"))

# Regular traffic, every five minutes: the creator, developers via SSO, nodes, EKS itself.
for m in range(2, 360, 5):
    s = m % 60
    if m % 30 == 2:
        events.append(((m, 1), None, login(t(m, 1), "PlatformAdmin", "jane", "AROAEXAMPLEADMIN0001", "kubernetes-admin", "[system:masters]")))
    dev = ["alice@example.com", "bob@example.com"][m % 2]
    events.append(((m, 2), None, login(t(m, 2), "AWSReservedSSO_Developer_0a1b2c3d4e5f6a7b", dev, "AROAEXAMPLESSODEV001",
                                       f"arn:aws:sts::{ACCT}:assumed-role/AWSReservedSSO_Developer_0a1b2c3d4e5f6a7b/{dev}", "[]")))
    node = ["i-0123456789abcdef0", "i-0fedcba9876543210"][m % 2]
    ip = ["10-0-1-23", "10-0-2-45"][m % 2]
    events.append(((m, 3), None, login(t(m, 3), "eks-node-role", node, "AROAEXAMPLENODE12345",
                                       f"system:node:ip-{ip}.us-east-1.compute.internal", "[system:bootstrappers system:nodes]")))
    events.append(((m, 4), None, login(t(m, 4), "AWSWesleyClusterManagerLambda-Add-AddonManagerRole-1CRTQUJF13T5U", "EKSAuthTokenSession",
                                       "AROAEXAMPLEADDON0001", "eks:addon-manager", "[]")))
    del s

# Failures: every class fixture, re-timed into the morning. The node-role outage repeats.
classes = sorted(f[:-4] for f in os.listdir(os.path.join(ROOT, "testdata/classes")) if f.endswith(".log"))
for k, name in enumerate(classes):
    with open(os.path.join(ROOT, "testdata/classes", name + ".log")) as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    repeat = 6 if name in ("node_role_not_mapped", "sso_role_not_mapped", "sts_expired_credentials") else 1
    for r in range(repeat):
        minute = 60 + k * 6 + r * 11
        block = [re.sub(r'time="[^"]*"', f'time="{t(minute, r)}"', l) if l.startswith("time=") else f'time="{t(minute, r)}" ' + l
                 for l in lines]
        if name == "principal_recreated":
            # Keep the grant well before the denial, as it happened: the role worked yesterday.
            block = [re.sub(r'time="[^"]*"', f'time="{t(5 if i < 2 else minute)}"', l) for i, l in enumerate(block)]
        events.append(((minute, 50 + r), None, block))

events.append(((359, 90), None, ["this line was pasted from a chat window and is not a log line"]))
events.append(((359, 91), None, [""]))

out = []
for ev in sorted(events, key=lambda e: e[0]):
    lines = [ev[1]] if len(ev) == 2 else ev[2]
    out.extend(lines)
print("\n".join(out))
