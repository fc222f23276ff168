-- A CloudEvent POST, the same request every time: binary mode, or with an argument
-- (`wrk ... -s ce_post.lua URL -- 100`) a batch of that many events in batched mode.
wrk.method = "POST"
wrk.body = '{"n": 1}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["ce-specversion"] = "1.0"
wrk.headers["ce-id"] = "bench-1"
wrk.headers["ce-type"] = "dev.unkai.bench"
wrk.headers["ce-source"] = "/bench"

local request_bytes

init = function(args)
   local size = tonumber(args[1] or "0")
   if size > 0 then
      local events = {}
      for n = 1, size do
         events[n] = string.format('{"specversion":"1.0","id":"bench-%d","type":"dev.unkai.bench",'
            .. '"source":"/bench","datacontenttype":"application/json","data":{"n":%d}}', n, n)
      end
      wrk.body = "[" .. table.concat(events, ",") .. "]"
      wrk.headers["Content-Type"] = "application/cloudevents-batch+json"
      wrk.headers["ce-specversion"] = nil
      wrk.headers["ce-id"] = nil
      wrk.headers["ce-type"] = nil
      wrk.headers["ce-source"] = nil
   end
   request_bytes = wrk.format()
end

request = function()
   return request_bytes
end
