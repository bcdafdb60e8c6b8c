package bundle

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// Core AI asset suffixes: the exported model and its compiled form.
const (
	AssetSuffix         = ".aimodel"
	CompiledAssetSuffix = ".aimodelc"
)

// AssetInfo is the metadata.json inside an .aimodel / .aimodelc directory.
type AssetInfo struct {
	AssetVersion string `json:"assetVersion"`
	Producer     string `json:"producer"`
	CreationDate string `json:"creationDate"`
	SourceHash   string `json:"sourceHash"`
}

// isAssetName reports whether name carries a Core AI asset suffix.
func isAssetName(name string) bool {
	return strings.HasSuffix(name, AssetSuffix) || strings.HasSuffix(name, CompiledAssetSuffix)
}

// assetStem strips the asset suffix: "x.aimodel" → "x".
func assetStem(name string) string {
	for _, s := range []string{CompiledAssetSuffix, AssetSuffix, ".safetensors"} {
		if strings.HasSuffix(name, s) {
			return strings.TrimSuffix(name, s)
		}
	}
	return name
}

// locateAsset finds the Core AI asset named by assets.main: name itself, or
// for an ".aimodel" name the compiled ".aimodelc" beside it when only that
// exists (the framework compiles on device and may keep only the result).
func locateAsset(dir, name string) (string, error) {
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	if strings.HasSuffix(name, AssetSuffix) {
		compiled := p + "c"
		if _, err := os.Stat(compiled); err == nil {
			return compiled, nil
		}
		return "", errorf(ErrMissingAsset, dir, "assets.main names %s, but neither %s nor the compiled %s exists", name, name, name+"c")
	}
	return "", errorf(ErrMissingAsset, dir, "assets.main names %s, which does not exist", name)
}

// readAssetInfo validates a Core AI asset directory and reads its metadata.json.
func readAssetInfo(asset string) (*AssetInfo, error) {
	st, err := os.Stat(asset)
	if err != nil {
		return nil, errorf(ErrMissingAsset, asset, "%v", err)
	}
	if !st.IsDir() {
		return nil, errorf(ErrBadAsset, asset, "a Core AI asset is a directory (metadata.json, main.mlirb, ...), this is a file")
	}
	data, err := os.ReadFile(filepath.Join(asset, MetadataFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, errorf(ErrBadAsset, asset, "no metadata.json inside the asset (incomplete download?)")
	}
	if err != nil {
		return nil, err
	}
	var info AssetInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, errorf(ErrBadAsset, filepath.Join(asset, MetadataFile), "malformed JSON: %v", err)
	}
	if info.AssetVersion == "" {
		return nil, errorf(ErrBadAsset, filepath.Join(asset, MetadataFile), "\"assetVersion\" is required")
	}
	return &info, nil
}

// looksLikeAsset reports whether dir is itself a Core AI asset: named with an
// asset suffix, or holding the asset files (main.mlirb / main-<arch>.mlirb,
// main.hash) without a bundle's metadata layout.
func looksLikeAsset(dir string) bool {
	if isAssetName(filepath.Base(dir)) {
		return true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		n := e.Name()
		if n == "main.hash" || strings.HasPrefix(n, "main") && strings.HasSuffix(n, ".mlirb") {
			return true
		}
	}
	return false
}

// singleAsset returns the one .aimodel/.aimodelc directory in dir ("" if none),
// preferring the .aimodel when both forms are present. Several distinct
// assets make the directory ambiguous.
func singleAsset(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	stems := map[string]string{}
	var order []string
	for _, e := range entries {
		if !e.IsDir() || !isAssetName(e.Name()) {
			continue
		}
		stem := assetStem(e.Name())
		prev, seen := stems[stem]
		if !seen {
			order = append(order, stem)
		}
		if !seen || strings.HasSuffix(prev, CompiledAssetSuffix) {
			stems[stem] = e.Name()
		}
	}
	switch len(order) {
	case 0:
		return "", nil
	case 1:
		return filepath.Join(dir, stems[order[0]]), nil
	}
	return "", errorf(ErrAmbiguous, dir, "holds several Core AI assets (%s) and no metadata.json saying which is the model", strings.Join(order, ", "))
}
