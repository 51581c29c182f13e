"""Word error rate of a voice pack, by an offline recogniser (issue 15 point 1).

Decodes every clip of four words or more with pocketsphinx's bundled en-us model and compares
what it heard with the clip's text. The recogniser is weak: use the figure to compare voices
read the same way, not as a quality score.

Usage: python3 wer.py PACK_DIR [PACK_DIR ...]    (prints one line per pack; --json for JSON)
Needs: pocketsphinx (PyPI) in this Python, and oggdec (Debian vorbis-tools) on PATH.
"""

import json
import re
import subprocess
import sys

from pocketsphinx import Decoder

MIN_WORDS = 4
SAMPLE_RATE_HZ = 16000


def words(text):
    """Lowercase words without punctuation; digits stay as written."""
    return re.findall(r"[a-z0-9']+", text.lower().replace("-", " "))


def edit_distance(ref, hyp):
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def pcm(ogg_path):
    """16-bit mono PCM at 16 kHz, the rate the packs are encoded at."""
    wav = subprocess.run(["oggdec", "-Q", "-R", "-o", "-", ogg_path], check=True, capture_output=True)
    return wav.stdout


def measure(pack_dir, decoder):
    with open(f"{pack_dir}/manifest.json", encoding="utf-8") as f:
        manifest = json.load(f)
    if manifest["language"] != "en":
        raise SystemExit(f"{pack_dir}: the recogniser's model is en-us; this pack is {manifest['language']}")
    errors = ref_words = clips = 0
    for clip in manifest["clips"]:
        ref = words(clip["text"])
        if len(ref) < MIN_WORDS:
            continue
        decoder.start_utt()
        decoder.process_raw(pcm(f"{pack_dir}/{clip['file']}"), full_utt=True)
        decoder.end_utt()
        hyp = words(decoder.hyp().hypstr if decoder.hyp() else "")
        errors += edit_distance(ref, hyp)
        ref_words += len(ref)
        clips += 1
    return {
        "pack": pack_dir,
        "persona": manifest["persona"],
        "voice": manifest["voice"],
        "clips": clips,
        "words": ref_words,
        "wer": round(errors / max(ref_words, 1), 3),
    }


def main():
    args = [a for a in sys.argv[1:] if a != "--json"]
    if not args:
        raise SystemExit(__doc__)
    decoder = Decoder(samprate=SAMPLE_RATE_HZ, loglevel="FATAL")
    results = [measure(p, decoder) for p in args]
    if "--json" in sys.argv:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            print(f"{r['persona']:6} {r['clips']:3} clips of >= {MIN_WORDS} words, {r['words']:4} words: WER {r['wer']:.2f}  ({r['pack']})")


if __name__ == "__main__":
    main()
