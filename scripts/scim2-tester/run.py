"""Runs scim2-tester's check_server against a SCIM server and prints one JSON line per check.

Usage: GATEHOUSE_SCIM_TOKEN=<bearer> python run.py <SCIM base URL>
The caller (test/conformance/scim2-tester.test.ts) decides what counts as a failure: this script
only reports, so the allowlist lives beside the test, in the repository, with a reason per entry.
"""
import json
import os
import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import check_server


def main() -> int:
    base_url = sys.argv[1]
    token = os.environ["GATEHOUSE_SCIM_TOKEN"]
    http = Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    client = SyncSCIMClient(http)
    for result in check_server(client):
        print(json.dumps({
            "status": result.status.name,
            "title": result.title,
            "resource_type": result.resource_type,
            "reason": result.reason,
            "tags": sorted(result.tags or []),
        }, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
