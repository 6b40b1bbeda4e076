"""The command line both peer servers share, so the harness starts them the same way."""

from __future__ import annotations

import argparse


def parse_peer_args() -> argparse.Namespace:
    """--port P [--issuer ISS --jwks-uri URI --audience AUD] [--stateless] [--no-auth]"""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--issuer")
    parser.add_argument("--jwks-uri")
    parser.add_argument("--audience")
    parser.add_argument("--stateless", action="store_true")
    parser.add_argument("--no-auth", action="store_true")
    return parser.parse_args()
