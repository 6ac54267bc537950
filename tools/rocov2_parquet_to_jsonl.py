#!/usr/bin/env python3
"""Convert the Hugging Face ROCOv2 parquet export (columns image{bytes,path}, image_id, caption)
to what `medfm-robust eval-vlm --task caption` reads: OUT/images/<image_id>.<ext> and
OUT/captions.jsonl with {"image_id", "caption", "image"}.

Needs pandas and pyarrow.  Usage: python tools/rocov2_parquet_to_jsonl.py test-*.parquet OUT
"""
import json
import os
import sys

import pandas as pd


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    *files, out = sys.argv[1:]
    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    n = 0
    with open(os.path.join(out, "captions.jsonl"), "w", encoding="utf-8") as fh:
        for f in files:
            for row in pd.read_parquet(f).itertuples():
                data = row.image["bytes"]
                ext = "png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "jpg"
                rel = f"images/{row.image_id}.{ext}"
                with open(os.path.join(out, rel), "wb") as img:
                    img.write(data)
                fh.write(json.dumps({"image_id": row.image_id, "caption": row.caption, "image": rel}) + "\n")
                n += 1
    print(f"{n} items -> {out}/captions.jsonl")


if __name__ == "__main__":
    main()
