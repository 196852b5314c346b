#!/usr/bin/env python3
"""Cost per object of one s3-migrate bench trial, from the latency proxies' request counts.

usage: bench_costs.py LABEL OBJECTS BYTES WALL_SECONDS BEFORE_DIR AFTER_DIR MESSAGES_PER_OBJECT INVOCATIONS

BEFORE_DIR and AFTER_DIR hold s3.json, sqs.json and ddb.json (`demo latency-proxy ... FILE`).
Prints one row: requests per object by service, DynamoDB write units per object, and the AWS
bill per million objects at us-east-1 list prices (below), Lambda priced as if the trial's
wall time were one arm64 function of WORKER_MEMORY_MIB (default 1024) working the same
concurrency, plus one invocation per message. INVOCATIONS is how many Lambda invocations
would run at once for the trial's concurrency: 1 when one invocation copies a pack's objects
MaxParallelFile at a time, MaxParallelFile when each invocation copies one object (batch
size 1, one message per object): the billed time is the wall time times that.
"""
import json
import os
import sys

# us-east-1 list prices, December 2026 (aws.amazon.com/s3/pricing, /sqs/pricing,
# /dynamodb/pricing/on-demand, /lambda/pricing).
S3_WRITE_PER_1000 = 0.005   # PUT, COPY, POST, LIST
S3_READ_PER_1000 = 0.0004   # GET, HEAD and the rest
SQS_PER_MILLION = 0.40      # standard queue, each 64 KiB of payload one request
DDB_WRU_PER_MILLION = 0.625  # on-demand write request units
DDB_RRU_PER_MILLION = 0.125  # on-demand read request units
LAMBDA_GB_SECOND = 0.0000133334  # arm64
LAMBDA_PER_MILLION = 0.20

# DynamoDB: every ledger item is under 1 KiB, so a write is one unit, plus one for the
# original's desBucket-index when the table has it (S3M_GSI=1; this release makes none).
GSI_WRITES = float(os.environ.get("S3M_GSI", "0"))


def delta(before, after, name):
    b = json.load(open(os.path.join(before, name)))
    a = json.load(open(os.path.join(after, name)))
    ops = {k: v - b["operations"].get(k, 0) for k, v in a["operations"].items()}
    units = (a["items_written"] - b["items_written"], a.get("items_read", 0) - b.get("items_read", 0))
    return {k: v for k, v in ops.items() if v}, units


def main():
    label, objects, _bytes, wall, before, after = sys.argv[1:7]
    messages_per_object, invocations = float(sys.argv[7]), float(sys.argv[8])
    objects, wall = int(objects), float(wall)
    s3, _ = delta(before, after, "s3.json")
    sqs, _ = delta(before, after, "sqs.json")
    ddb, (items, items_read) = delta(before, after, "ddb.json")
    s3_writes = sum(v for k, v in s3.items() if k in ("s3:PUT", "s3:PUT-copy", "s3:POST", "s3:LIST"))
    s3_reads = sum(s3.values()) - s3_writes
    # Read units: every ledger item is under 4 KiB, one unit per item asked for (a strongly
    # consistent read; the jobsender's eventually consistent ones cost half: counted as one).
    reads = items_read
    wru = items * (1 + GSI_WRITES)
    mem_gb = float(os.environ.get("WORKER_MEMORY_MIB", "1024")) / 1024
    per_m = 1e6 / objects
    messages = messages_per_object
    bill = {
        "s3": (s3_writes * S3_WRITE_PER_1000 / 1000 + s3_reads * S3_READ_PER_1000 / 1000) * per_m,
        "sqs": sum(sqs.values()) * SQS_PER_MILLION / 1e6 * per_m,
        "ddb": wru * DDB_WRU_PER_MILLION / 1e6 * per_m + reads * DDB_RRU_PER_MILLION / 1e6 * per_m,
        "lambda": wall * invocations * mem_gb * LAMBDA_GB_SECOND * per_m + messages * LAMBDA_PER_MILLION,
    }
    overhead = bill["sqs"] + bill["ddb"] + bill["lambda"]
    print(
        f"{label:<34} {sum(s3.values())/objects:6.2f} {sum(sqs.values())/objects:6.3f} "
        f"{sum(ddb.values())/objects:6.3f} {wru/objects:6.2f} {reads/objects:6.2f}   "
        f"${bill['s3']:7.2f} ${bill['sqs']:6.2f} ${bill['ddb']:6.2f} ${bill['lambda']:6.2f}   "
        f"{overhead/bill['s3'] if bill['s3'] else 0:5.2f}"
    )
    print(f"   s3 {s3}  sqs {sqs}  dynamodb {ddb}", file=sys.stderr)


if __name__ == "__main__":
    main()
