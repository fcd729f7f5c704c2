"""The jobs example on the DynamoDB backend: ``lambda-sse dev --channels-url dynamodb://...``
pointed at moto's server (the table as template.yaml declares it), so both functions publish
and read through boto3 as they would on AWS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.examples.devserver import copy_example, dev_server, read_sse
from tests.examples.test_jobs_example import feed, start, steps_of
from tests.support.moto_server import create_table, moto_server


@pytest.mark.slow
def test_a_job_runs_through_a_dynamodb_table(tmp_path: Path) -> None:
    with moto_server(tmp_path) as moto:
        client = moto.client()
        create_table(client, "jobs")
        url = f"dynamodb://jobs?region=us-east-1&endpoint_url={moto.endpoint}"
        project = copy_example("jobs", tmp_path)
        with dev_server(project, tmp_path, args=["--channels-url", url]) as server:
            job_id = start(server, 4, 200)
            events = feed(server, job_id)
            assert [e.event for e in events] == ["queued"] + ["progress"] * 4 + ["done"]
            assert steps_of(feed(server, job_id, events[2].id or "")) == [3, 4]
            unknown = read_sse(f"{server.rest}/dev/jobs/{'f' * 32}/events", timeout=30)
            assert unknown.status == 404
        items = client.query(
            TableName="jobs",
            KeyConditionExpression="#c = :c",
            ExpressionAttributeNames={"#c": "channel"},
            ExpressionAttributeValues={":c": {"S": f"jobs/{job_id}"}},
        )["Items"]
    # The events and the end record are in the table, numbered 1.., each with its TTL.
    assert [int(i["seq"]["N"]) for i in items] == list(range(1, 8))
    assert items[-1]["end"] == {"BOOL": True}
    assert all("expires" in i for i in items)
    assert json.loads(items[1]["data"]["S"])["step"] == 1
