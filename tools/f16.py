# Stores a safetensors file's f32 tensors in half precision (pure Python, no numpy): python3 tools/f16.py IN OUT
import json, struct, sys, array
src, dst = sys.argv[1], sys.argv[2]
with open(src, 'rb') as f:
    n = struct.unpack('<Q', f.read(8))[0]
    header = json.loads(f.read(n))
    data = f.read()
meta = header.pop('__metadata__', None)
out_header, chunks, off = {}, [], 0
for name in sorted(header, key=lambda k: header[k]['data_offsets'][0]):
    h = header[name]
    a, b = h['data_offsets']
    raw = data[a:b]
    if h['dtype'] == 'F32':
        vals = array.array('f'); vals.frombytes(raw)
        raw = struct.pack('<%de' % len(vals), *vals)
        dtype = 'F16'
    else:
        dtype = h['dtype']
    out_header[name] = {'dtype': dtype, 'shape': h['shape'], 'data_offsets': [off, off + len(raw)]}
    chunks.append(raw); off += len(raw)
if meta: out_header['__metadata__'] = meta
hb = json.dumps(out_header, separators=(',', ':')).encode()
hb += b' ' * ((8 - len(hb) % 8) % 8)
with open(dst, 'wb') as f:
    f.write(struct.pack('<Q', len(hb))); f.write(hb)
    for c in chunks: f.write(c)
