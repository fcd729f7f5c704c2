// AWS's Node.js runtime client streaming through both front doors:
// awslambda.streamifyResponse + awslambda.HttpResponseStream.from, unchanged from AWS's docs.
export const handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  const stream = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 200,
    headers: { "content-type": "text/plain", "x-runtime": "node" },
  });
  for (let i = 0; i < 3; i++) {
    stream.write(`node ${i} ${Date.now()}\n`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  stream.end();
});
