package codec_test

import (
	"github.com/gobwas/ws"
	"github.com/wshub/wshub/codec"
)

// utf8Sample is a text payload from Autobahn's cases 6.x (after Markus
// Kuhn's UTF-8 decoder stress test).
type utf8Sample struct {
	name  string
	text  string
	valid bool
}

var utf8Samples = []utf8Sample{
	{name: "6.2 Hello-µ@ßöäüàá-UTF-8!!", text: "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!", valid: true},
	{name: "6.3 κόσμε + surrogate + edited", text: "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64"},
	{name: "6.4 κόσμε + U+110000 + edited", text: "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80\x65\x64\x69\x74\x65\x64"},
	{name: "6.5 κόσμε", text: "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", valid: true},
	{name: "6.6 κόσμε cut after 1 byte", text: "\xce"},
	{name: "6.6 κόσμε cut after 3 bytes", text: "\xce\xba\xe1"},
	{name: "6.6 κόσμε cut after 4 bytes", text: "\xce\xba\xe1\xbd"},
	{name: "6.7 first 1-byte", text: "\x00", valid: true},
	{name: "6.7 first 2-byte U+0080", text: "\xc2\x80", valid: true},
	{name: "6.7 first 3-byte U+0800", text: "\xe0\xa0\x80", valid: true},
	{name: "6.7 first 4-byte U+10000", text: "\xf0\x90\x80\x80", valid: true},
	{name: "6.8 first 5-byte", text: "\xf8\x88\x80\x80\x80"},
	{name: "6.8 first 6-byte", text: "\xfc\x84\x80\x80\x80\x80"},
	{name: "6.9 last 1-byte U+007F", text: "\x7f", valid: true},
	{name: "6.9 last 2-byte U+07FF", text: "\xdf\xbf", valid: true},
	{name: "6.9 last 3-byte U+FFFF", text: "\xef\xbf\xbf", valid: true},
	{name: "6.9 last 4-byte U+10FFFF", text: "\xf4\x8f\xbf\xbf", valid: true},
	{name: "6.10 last 4-byte form U+1FFFFF", text: "\xf7\xbf\xbf\xbf"},
	{name: "6.10 last 5-byte form", text: "\xfb\xbf\xbf\xbf\xbf"},
	{name: "6.10 last 6-byte form", text: "\xfd\xbf\xbf\xbf\xbf\xbf"},
	{name: "6.11 U+D7FF", text: "\xed\x9f\xbf", valid: true},
	{name: "6.11 U+E000", text: "\xee\x80\x80", valid: true},
	{name: "6.11 U+FFFD", text: "\xef\xbf\xbd", valid: true},
	{name: "6.11 U+110000", text: "\xf4\x90\x80\x80"},
	{name: "6.12 lone continuation 0x80", text: "\x80"},
	{name: "6.12 lone continuation 0xBF", text: "\xbf"},
	{name: "6.12 continuations 80 BF 80 BF", text: "\x80\xbf\x80\xbf"},
	{name: "6.13 lonely start C0 + space", text: "\xc0\x20\xc1\x20"},
	{name: "6.13 lonely start E0 + space", text: "\xe0\x20"},
	{name: "6.13 lonely start F0 + space", text: "\xf0\x20"},
	{name: "6.14 2-byte without its last byte", text: "\xc0"},
	{name: "6.14 3-byte without its last byte", text: "\xe0\x80"},
	{name: "6.14 4-byte without its last byte", text: "\xf0\x80\x80"},
	{name: "6.14 U+07FF without its last byte", text: "\xdf"},
	{name: "6.14 U+FFFF without its last byte", text: "\xef\xbf"},
	{name: "6.14 U+10FFFF without its last byte", text: "\xf4\x8f\xbf"},
	{name: "6.15 incomplete sequences concatenated", text: "\xc0\xe0\x80\xf0\x80\x80\xf8\x80\x80\x80\xfc\x80\x80\x80\x80\xdf\xef\xbf\xf7\xbf\xbf\xfb\xbf\xbf\xbf\xfd\xbf\xbf\xbf\xbf"},
	{name: "6.16 impossible byte FE", text: "\xfe"},
	{name: "6.16 impossible byte FF", text: "\xff"},
	{name: "6.17 overlong / in 2 bytes", text: "\xc0\xaf"},
	{name: "6.17 overlong / in 3 bytes", text: "\xe0\x80\xaf"},
	{name: "6.17 overlong / in 4 bytes", text: "\xf0\x80\x80\xaf"},
	{name: "6.17 overlong / in 5 bytes", text: "\xf8\x80\x80\x80\xaf"},
	{name: "6.18 largest overlong 2-byte", text: "\xc1\xbf"},
	{name: "6.18 largest overlong 3-byte", text: "\xe0\x9f\xbf"},
	{name: "6.18 largest overlong 4-byte", text: "\xf0\x8f\xbf\xbf"},
	{name: "6.19 overlong NUL in 2 bytes", text: "\xc0\x80"},
	{name: "6.19 overlong NUL in 3 bytes", text: "\xe0\x80\x80"},
	{name: "6.20 surrogate U+D800", text: "\xed\xa0\x80"},
	{name: "6.20 surrogate U+DB7F", text: "\xed\xad\xbf"},
	{name: "6.20 surrogate U+DFFF", text: "\xed\xbf\xbf"},
	{name: "6.21 surrogate pair U+D800 U+DC00", text: "\xed\xa0\x80\xed\xb0\x80"},
	{name: "6.21 surrogate pair U+DBFF U+DFFF", text: "\xed\xaf\xbf\xed\xbf\xbf"},
	{name: "6.22 noncharacter U+FFFE", text: "\xef\xbf\xbe", valid: true},
	{name: "6.22 noncharacter U+10FFFF", text: "\xf4\x8f\xbf\xbf", valid: true},
	{name: "6.22 noncharacter U+FDD0", text: "\xef\xb7\x90", valid: true},
	{name: "6.23 U+FEFF", text: "\xef\xbb\xbf", valid: true},
}

// utf8Rows send each sample in one frame and in one-byte fragments.
func utf8Rows() []golden {
	var rows []golden
	for _, s := range utf8Samples {
		whole := golden{
			name:   s.name + ", one frame",
			frames: []fr{{fin: true, op: ws.OpText, payload: s.text}},
		}
		bytewise := golden{
			name:   s.name + ", one byte per fragment",
			frames: byteFragments(s.text),
		}
		for _, r := range []*golden{&whole, &bytewise} {
			if s.valid {
				r.want = []codec.Message{txt(s.text)}
			} else {
				r.code = ws.StatusInvalidFramePayloadData
			}
		}
		rows = append(rows, whole, bytewise)
	}
	return rows
}

// byteFragments splits text into one-byte fragments of a text message.
func byteFragments(text string) []fr {
	frames := make([]fr, len(text))
	for i := range frames {
		frames[i] = fr{op: ws.OpContinuation, payload: text[i : i+1]}
	}
	frames[0].op = ws.OpText
	frames[len(frames)-1].fin = true
	return frames
}
