// A streaming handler for AWS's Node.js runtime client (npm aws-lambda-ric), the reference
// implementation of response streaming: awslambda.streamifyResponse + HttpResponseStream.from.
export const handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  const stream = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 201,
    headers: { "content-type": "text/plain", "x-pid": String(process.pid) },
  });
  const chunks = event.chunks ?? 3;
  const interval = event.interval ?? 0.15;
  for (let i = 0; i < chunks; i++) {
    stream.write(`tick ${i}\n`);
    await new Promise((resolve) => setTimeout(resolve, interval * 1000));
  }
  stream.end();
});
