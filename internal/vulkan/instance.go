package vulkan

import (
	"unsafe"
)

// instance is a VkInstance with the instance-level commands this package
// calls. Every Device owns one; List makes a temporary one.
type instance struct {
	h   uintptr
	api uint32 // the API version asked for (1.1 or 1.2)

	destroyInstance                        uintptr
	enumeratePhysicalDevices               uintptr
	getPhysicalDeviceProperties2           uintptr
	getPhysicalDeviceFeatures2             uintptr
	getPhysicalDeviceMemoryProperties      uintptr
	getPhysicalDeviceQueueFamilyProperties uintptr
	enumerateDeviceExtensionProperties     uintptr
	createDevice                           uintptr
	getDeviceProcAddr                      uintptr
}

// newInstance creates a Vulkan 1.1+ instance with no layers; on loaders with
// VK_KHR_portability_enumeration (MoltenVK setups) it also enumerates
// portability drivers, which are otherwise hidden.
func newInstance() (*instance, error) {
	l, err := getLoader()
	if err != nil {
		return nil, err
	}
	version := makeVersion(1, 0, 0)
	if l.enumerateInstanceVersion != 0 {
		var v uint32
		if err := result(call(l.enumerateInstanceVersion, uintptr(unsafe.Pointer(&v)))).check("vkEnumerateInstanceVersion"); err != nil {
			return nil, unavailable("%v", err)
		}
		version = v
	}
	if version < makeVersion(1, 1, 0) {
		return nil, unavailable("the Vulkan loader %s supports Vulkan %s; vlmrt needs 1.1 or newer", l.name, versionString(version))
	}
	api := makeVersion(1, 1, 0)
	if version >= makeVersion(1, 2, 0) {
		api = makeVersion(1, 2, 0)
	}

	exts, err := instanceExtensions(l)
	if err != nil {
		return nil, unavailable("%v", err)
	}
	var enable []string
	var flags uint32
	if exts["VK_KHR_portability_enumeration"] {
		enable = append(enable, "VK_KHR_portability_enumeration")
		flags |= instanceCreateEnumeratePortability
	}

	app := &applicationInfo{
		SType:            stApplicationInfo,
		PApplicationName: unsafe.Pointer(&cstr("vlmrt")[0]),
		PEngineName:      unsafe.Pointer(&cstr("vlmrt")[0]),
		ApiVersion:       api,
	}
	ci := instanceCreateInfo{
		SType:                   stInstanceCreateInfo,
		Flags:                   flags,
		PApplicationInfo:        unsafe.Pointer(app),
		EnabledExtensionCount:   uint32(len(enable)),
		PpEnabledExtensionNames: cstrs(enable),
	}
	var h uintptr
	if err := result(call(l.createInstance, uintptr(unsafe.Pointer(&ci)), 0, uintptr(unsafe.Pointer(&h)))).check("vkCreateInstance"); err != nil {
		return nil, unavailable("%v", err)
	}
	in := &instance{h: h, api: api}
	err = procs(func(n string) uintptr { return l.proc(h, n) }, map[string]*uintptr{
		"vkDestroyInstance":                        &in.destroyInstance,
		"vkEnumeratePhysicalDevices":               &in.enumeratePhysicalDevices,
		"vkGetPhysicalDeviceProperties2":           &in.getPhysicalDeviceProperties2,
		"vkGetPhysicalDeviceFeatures2":             &in.getPhysicalDeviceFeatures2,
		"vkGetPhysicalDeviceMemoryProperties":      &in.getPhysicalDeviceMemoryProperties,
		"vkGetPhysicalDeviceQueueFamilyProperties": &in.getPhysicalDeviceQueueFamilyProperties,
		"vkEnumerateDeviceExtensionProperties":     &in.enumerateDeviceExtensionProperties,
		"vkCreateDevice":                           &in.createDevice,
		"vkGetDeviceProcAddr":                      &in.getDeviceProcAddr,
	})
	if err != nil {
		if in.destroyInstance != 0 {
			call(in.destroyInstance, h, 0)
		}
		return nil, err
	}
	return in, nil
}

func (in *instance) destroy() {
	if in != nil && in.h != 0 {
		call(in.destroyInstance, in.h, 0)
		in.h = 0
	}
}

// physicalDevices lists the instance's physical devices.
func (in *instance) physicalDevices() ([]uintptr, error) {
	for {
		var n uint32
		if err := result(call(in.enumeratePhysicalDevices, in.h, uintptr(unsafe.Pointer(&n)), 0)).check("vkEnumeratePhysicalDevices"); err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, nil
		}
		devs := make([]uintptr, n)
		r := result(call(in.enumeratePhysicalDevices, in.h, uintptr(unsafe.Pointer(&n)), uintptr(unsafe.Pointer(&devs[0]))))
		if r == incomplete {
			continue // a device appeared between the two calls
		}
		if err := r.check("vkEnumeratePhysicalDevices"); err != nil {
			return nil, err
		}
		return devs[:n], nil
	}
}

func instanceExtensions(l *loader) (map[string]bool, error) {
	return extensions("vkEnumerateInstanceExtensionProperties", func(n *uint32, p *extensionProperties) result {
		return result(call(l.enumerateInstanceExtensionProperties, 0, uintptr(unsafe.Pointer(n)), uintptr(unsafe.Pointer(p))))
	})
}

func (in *instance) deviceExtensions(phys uintptr) (map[string]bool, error) {
	return extensions("vkEnumerateDeviceExtensionProperties", func(n *uint32, p *extensionProperties) result {
		return result(call(in.enumerateDeviceExtensionProperties, phys, 0, uintptr(unsafe.Pointer(n)), uintptr(unsafe.Pointer(p))))
	})
}

// extensions runs the two-call enumeration idiom of a
// vkEnumerate*ExtensionProperties command.
func extensions(what string, enum func(*uint32, *extensionProperties) result) (map[string]bool, error) {
	for {
		n := new(uint32)
		if err := enum(n, nil).check(what); err != nil {
			return nil, err
		}
		set := map[string]bool{}
		if *n == 0 {
			return set, nil
		}
		props := make([]extensionProperties, *n)
		r := enum(n, &props[0])
		if r == incomplete {
			continue
		}
		if err := r.check(what); err != nil {
			return nil, err
		}
		for _, p := range props[:*n] {
			set[gostr(p.ExtensionName[:])] = true
		}
		return set, nil
	}
}
