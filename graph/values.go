package graph

import (
	"encoding/json"
)

func isObject(v any) bool {
	switch v.(type) {
	case map[string]any:
		return true
	}
	return isIntrospection(v)
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number, float64, int64, int:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return "an unexpected value"
}
