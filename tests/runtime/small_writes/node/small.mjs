// The same small writes from AWS's Node.js runtime client (npm aws-lambda-ric).
// process.hrtime.bigint() reads CLOCK_MONOTONIC on Linux, as Python's time.monotonic_ns() does.
export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
  const query = event.queryStringParameters ?? {};
  const n = Number(query.n ?? 10);
  const interval = Number(query.interval ?? 0.05);
  const size = Number(query.size ?? 24);
  const stream = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 200,
    headers: { "content-type": "text/plain" },
  });
  for (let i = 0; i < n; i++) {
    const line = `${i} ${process.hrtime.bigint()}`;
    stream.write(line.padEnd(size - 1) + "\n");
    await new Promise((resolve) => setTimeout(resolve, interval * 1000));
  }
  stream.end();
});
