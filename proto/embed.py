#!/usr/bin/env python3
"""Turn a varlink interface file into a C source holding its text, so the
daemon's GetInterfaceDescription answer is the interface file itself."""
import sys

src, out, symbol = sys.argv[1], sys.argv[2], sys.argv[3]
with open(src, 'rb') as f:
    data = f.read()
with open(out, 'w') as f:
    f.write('/* generated from %s; do not edit */\n' % src.rsplit('/', 1)[-1])
    f.write('#include <stddef.h>\n')
    f.write('const char %s[] = {\n' % symbol)
    for i in range(0, len(data), 16):
        f.write('  ' + ''.join('0x%02x,' % b for b in data[i:i + 16]) + '\n')
    f.write('  0x00\n};\n')
    f.write('const size_t %s_len = %d;\n' % (symbol, len(data)))
