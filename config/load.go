package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
)

// EnvPrefix prefixes every environment override: AS4GW_LISTENERS_AS4_ADDRESS
// overrides listeners.as4.address.
const EnvPrefix = "AS4GW"

// Load reads the YAML file at path, applies AS4GW_* environment overrides and
// defaults, and validates the result. Unknown keys are errors (a typo must
// not silently fall back to a default). The returned error lists every
// problem, each naming its key.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg, err := Parse(data, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg.ResolvePaths(dir)
	return cfg, nil
}

// Parse is Load on YAML bytes with an injectable environment (for tests).
func Parse(yaml []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(yaml)); err != nil {
		return nil, fmt.Errorf("config: not valid YAML: %w", err)
	}
	// Environment overrides for every scalar key of the schema, whether or
	// not the file mentions it.
	for _, key := range leafKeys(reflect.TypeOf(Config{}), "") {
		env := EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
		if val, ok := lookupEnv(env); ok {
			v.Set(key, val)
		}
	}
	cfg := Default()
	err := v.UnmarshalExact(cfg, func(dc *mapstructure.DecoderConfig) {
		dc.DecodeHook = mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
			mapstructure.TextUnmarshallerHookFunc(), // retry policies in Domibus strings
		)
		dc.WeaklyTypedInput = true // "8080" from the environment into an int
	})
	if err != nil {
		return nil, fmt.Errorf("config: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Default returns the defaults every key starts from.
func Default() *Config {
	return &Config{
		DataDir:   "data",
		LogFormat: "json",
		Sender: Sender{
			Workers:        32,
			RequestTimeout: 2 * time.Minute,
			PollInterval:   time.Second,
		},
		Retention: DefaultRetention(),
		Audit:     Audit{Retention: DefaultAuditRetention},
	}
}

// leafKeys lists the dotted keys of scalar fields (and scalar slices) in the
// struct type t, using mapstructure tags, as viper spells them (lower case).
func leafKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := f.Tag.Get("mapstructure")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		key := strings.ToLower(name)
		if prefix != "" {
			key = prefix + "." + key
		}
		ft := f.Type
		if ft.Kind() == reflect.Struct && ft != reflect.TypeOf(time.Time{}) {
			keys = append(keys, leafKeys(ft, key)...)
			continue
		}
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			continue // lists of objects are configured in the file only
		}
		keys = append(keys, key)
	}
	return keys
}

// Secret reads a secret from a file (trailing newline trimmed) or an
// environment variable. Neither the value nor anything derived from it ever
// appears in an error.
func Secret(file, env, key string) (string, error) {
	switch {
	case file != "" && env != "":
		return "", fmt.Errorf("%s: give passwordFile or passwordEnv, not both", key)
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s.passwordFile: %w", key, errors.Unwrap(err))
		}
		return strings.TrimRight(string(data), "\r\n"), nil
	case env != "":
		val, ok := os.LookupEnv(env)
		if !ok {
			return "", fmt.Errorf("%s.passwordEnv: environment variable %s is not set", key, env)
		}
		return val, nil
	}
	return "", nil
}
