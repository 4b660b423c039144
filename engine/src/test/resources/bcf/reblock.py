"""Rewrites a BCF with one BGZF block for the header and one per record (bcftools packs 64 KiB per block),
so that a small file has many blocks and its CSI index many record starts: python3 reblock.py IN.bcf OUT.bcf"""
import gzip, struct, sys, zlib

EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")

def block(data):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    deflated = c.compress(data) + c.flush()
    bsize = 18 + len(deflated) + 8 - 1
    head = bytes([31, 139, 8, 4, 0, 0, 0, 0, 0, 255]) + struct.pack("<HBBHH", 6, 66, 67, 2, bsize)
    return head + deflated + struct.pack("<II", zlib.crc32(data), len(data))

raw = gzip.open(sys.argv[1]).read()
text = struct.unpack("<I", raw[5:9])[0]
parts, at = [raw[:9 + text]], 9 + text
while at < len(raw):
    shared, indiv = struct.unpack("<II", raw[at:at + 8])
    parts.append(raw[at:at + 8 + shared + indiv])
    at += 8 + shared + indiv
with open(sys.argv[2], "wb") as out:
    for p in parts:
        out.write(block(p))
    out.write(EOF_BLOCK)
