package feishu

import (
	"encoding/json"
	"sort"
	"strings"
)

// textKey is the key of the text inside a text message's content string.
// The list page's example shows {"content":"…","msg_type":"text"}, the IM
// message API uses {"text":"…"}; which one the helpdesk expects when
// sending is unconfirmed. We send the form the helpdesk itself returns,
// and read both.
const textKey = "content"

// textContent is the content string of a text message as this client sends
// it.
func textContent(body string) string {
	b, _ := json.Marshal(map[string]string{textKey: body, "msg_type": "text"})
	return string(b)
}

// renderContent turns a message's content string into readable plain text:
// text as is; post (rich text) flattened with paragraphs as lines and links
// kept as "text (url)"; image as "[image] key"; file and media as
// "[file] name". Content that is not JSON is shown as it came.
func renderContent(msgType, content string) string {
	var v any
	if err := json.Unmarshal([]byte(content), &v); err != nil {
		return content
	}
	v = unwrapContent(msgType, v)
	switch msgType {
	case "text":
		if s, ok := v.(string); ok {
			return s
		}
		return firstString(v, "text", "content")
	case "post":
		if s, ok := v.(string); ok {
			return s
		}
		return flattenPost(v)
	case "image":
		return strings.TrimSpace("[image] " + firstString(v, "image_key", "file_key"))
	case "file", "media":
		name := firstString(v, "file_name", "name")
		if name == "" {
			name = firstString(v, "file_key", "image_key")
		}
		return strings.TrimSpace("[file] " + name)
	default:
		if s, ok := v.(string); ok {
			return s
		}
		if s := firstString(v, "text", "content"); s != "" {
			return s
		}
		return "[" + msgType + "]"
	}
}

// unwrapContent peels the {"content": …, "msg_type": …} wrapper the helpdesk
// puts around message bodies, including a body that is itself a JSON string.
func unwrapContent(msgType string, v any) any {
	for range 4 { // a few layers at most; the fuzzer finds deeper ones
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		if _, wrapped := m["msg_type"]; !wrapped {
			return v
		}
		inner, ok := m["content"]
		if !ok {
			return v
		}
		if s, ok := inner.(string); ok && msgType != "text" {
			var decoded any
			if json.Unmarshal([]byte(s), &decoded) == nil {
				inner = decoded
			}
		}
		v = inner
	}
	return v
}

// firstString returns the first of keys that holds a string in v.
func firstString(v any, keys ...string) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	for _, k := range keys {
		if s, ok := m[k].(string); ok {
			return s
		}
	}
	return ""
}

// postLocales is the order in which a localised post is picked.
var postLocales = []string{"zh_cn", "en_us", "ja_jp"}

// flattenPost renders rich text: {"title", "content": [[elements]]},
// possibly under "post" and a locale key.
func flattenPost(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	for range 4 {
		if _, ok := m["content"].([]any); ok {
			break
		}
		next := pickPostBody(m)
		if next == nil {
			return ""
		}
		m = next
	}
	var lines []string
	if t, ok := m["title"].(string); ok && t != "" {
		lines = append(lines, t)
	}
	paras, _ := m["content"].([]any)
	for _, p := range paras {
		elems, _ := p.([]any)
		var b strings.Builder
		for _, e := range elems {
			b.WriteString(renderElement(e))
		}
		lines = append(lines, b.String())
	}
	return strings.Join(lines, "\n")
}

// pickPostBody steps into "post" or a locale of a post.
func pickPostBody(m map[string]any) map[string]any {
	if p, ok := m["post"].(map[string]any); ok {
		return p
	}
	for _, l := range postLocales {
		if p, ok := m[l].(map[string]any); ok {
			return p
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if p, ok := m[k].(map[string]any); ok {
			return p
		}
	}
	return nil
}

// renderElement renders one rich-text element.
func renderElement(e any) string {
	m, ok := e.(map[string]any)
	if !ok {
		return ""
	}
	text, _ := m["text"].(string)
	switch tag, _ := m["tag"].(string); tag {
	case "a":
		href, _ := m["href"].(string)
		switch {
		case href == "":
			return text
		case text == "" || text == href:
			return href
		default:
			return text + " (" + href + ")"
		}
	case "at":
		name := firstString(m, "user_name", "user_id")
		if name == "" {
			return text
		}
		return "@" + name
	case "img":
		return "[image] " + firstString(m, "image_key")
	case "media":
		return "[file] " + firstString(m, "file_name", "file_key")
	case "emotion":
		if t := firstString(m, "emoji_type"); t != "" {
			return ":" + t + ":"
		}
		return ""
	case "hr":
		return "---"
	case "code_block":
		return firstString(m, "text")
	default:
		return text
	}
}
