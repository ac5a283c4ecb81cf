// Inline functions and template instances land in COMDAT groups (readelf -g).
template <typename T> struct Box {
	T v;
	__attribute__((noinline)) T get() const { return v; }
	static int counter;
};
template <typename T> int Box<T>::counter = 1;

inline __attribute__((noinline)) int shared_inline(int x) { return x * 7 + Box<int>::counter; }

extern "C" int use_comdat(int x)
{
	Box<int> b{x};
	Box<long> c{x};
	return b.get() + static_cast<int>(c.get()) + shared_inline(x) + Box<long>::counter;
}
