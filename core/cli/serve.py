"""`python -m core serve [--host 127.0.0.1] [--port 8000]`: the REST API over the store (docs at /docs)."""

from __future__ import annotations

import argparse
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--rate-limit", type=int, default=None, metavar="PER_MINUTE",
                        help="default requests per minute per key (a key's own limit wins; default: unlimited)")
    parser.add_argument("--poll-seconds", type=float, default=2.0,
                        help="how often the active model and the live experiment are re-read (default 2)")
    parser.add_argument("--data-refresh-seconds", type=float, default=60.0,
                        help="new shop data (feedback) is loaded into the models at most this often (default 60)")
    parser.add_argument("--workers", type=int, default=1,
                        help="server processes, each holding its own copy of the models (default 1). "
                             "Rate limits and the key cache are counted per process")
    parser.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])


_ENV = "RECOLM_SERVE_SETTINGS"  # how the parent hands the store and settings to each worker process


def app_factory():
    """The app of one `--workers` process (uvicorn imports this by name in each worker)."""
    import json
    import os

    from core.serving import ServingConfig, create_app

    settings = json.loads(os.environ[_ENV])
    return create_app(settings.pop("url"), ServingConfig(**settings))


def main(args: argparse.Namespace) -> int:
    import uvicorn

    from core.config import database_url
    from core.serving import ServingConfig, create_app

    if args.rate_limit is not None and args.rate_limit < 1:
        print("--rate-limit must be at least 1 request per minute", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("--workers must be at least 1", file=sys.stderr)
        return 2
    url = args.db or database_url()
    config = ServingConfig(rate_per_minute=args.rate_limit, poll_seconds=args.poll_seconds,
                           data_refresh_seconds=args.data_refresh_seconds)
    print(f"RecoLM API on http://{args.host}:{args.port} (docs: /docs), store {url}"
          + (f", {args.workers} worker processes" if args.workers > 1 else ""), flush=True)
    if args.workers > 1:
        import dataclasses
        import json
        import os

        from db.engine import open_store

        open_store(url)  # migrate once here, not in every worker at the same time
        os.environ[_ENV] = json.dumps({"url": url, **dataclasses.asdict(config)})
        uvicorn.run("core.cli.serve:app_factory", factory=True, workers=args.workers, host=args.host,
                    port=args.port, log_level=args.log_level, access_log=False)
        return 0
    app = create_app(url, config)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    return 0
