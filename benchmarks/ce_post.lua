-- A binary-mode CloudEvent POST, the same request every time.
wrk.method = "POST"
wrk.body = '{"n": 1}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["ce-specversion"] = "1.0"
wrk.headers["ce-id"] = "bench-1"
wrk.headers["ce-type"] = "dev.unkai.bench"
wrk.headers["ce-source"] = "/bench"
