#!/usr/bin/env python3
# A stand-in for a vendor SDK: prints one trade a symbol every 100 ms as
# NDJSON on stdout, for md-pipeline's `type = "exec"` provider (README,
# "Live ticks").  A real feed handler connects to the vendor here and
# prints what it receives; flush after each line, or ticks sit in a buffer.
import json, random, sys, time

prices = {"AAPL": 190.0, "MSFT": 410.0}
while True:
    for symbol in prices:
        prices[symbol] *= 1 + random.gauss(0, 0.0005)
        print(json.dumps({"symbol": symbol, "ts": time.time(),
                          "price": round(prices[symbol], 2), "size": random.randint(1, 9) * 100}))
    sys.stdout.flush()
    time.sleep(0.1)
