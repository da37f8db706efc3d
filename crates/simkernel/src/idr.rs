//! Objects by small sequential id: devices by [`DevId`], namespaces by [`NetNsId`].
//!
//! Kernel: the role of the id lookups (`net->dev_by_index`, an xarray since 6.8; IDR for
//! namespace ids). The emulator hands ids out in increasing order and never reuses them, so
//! a vector indexed by id is both the lookup (the data path does several per frame) and the
//! walk in id order.

use std::marker::PhantomData;

use crate::net::core::dev::DevId;
use crate::net::core::net_namespace::NetNsId;

/// An id that indexes an [`IdTable`].
pub trait TableId {
    /// The slot of this id.
    fn slot(&self) -> Option<usize>;
}

impl TableId for DevId {
    fn slot(&self) -> Option<usize> {
        usize::try_from(self.0).ok()
    }
}

impl TableId for NetNsId {
    fn slot(&self) -> Option<usize> {
        usize::try_from(self.0).ok()
    }
}

/// Values indexed by id; removed ones leave an empty slot.
#[derive(Debug)]
pub struct IdTable<K, V> {
    slots: Vec<Option<V>>,
    id: PhantomData<K>,
}

impl<K, V> Default for IdTable<K, V> {
    fn default() -> Self {
        IdTable {
            slots: Vec::new(),
            id: PhantomData,
        }
    }
}

impl<K: TableId, V> IdTable<K, V> {
    /// The value for `id`.
    pub fn get(&self, id: &K) -> Option<&V> {
        self.slots.get(id.slot()?)?.as_ref()
    }

    /// The value for `id`.
    pub fn get_mut(&mut self, id: &K) -> Option<&mut V> {
        self.slots.get_mut(id.slot()?)?.as_mut()
    }

    /// Whether `id` has a value.
    pub fn contains_key(&self, id: &K) -> bool {
        self.get(id).is_some()
    }

    /// Stores `v` as `id`, returning the value the id had before.
    pub fn insert(&mut self, id: K, v: V) -> Option<V> {
        let i = id.slot()?;
        if self.slots.len() <= i {
            self.slots.resize_with(i + 1, || None);
        }
        self.slots[i].replace(v)
    }

    /// Takes the value of `id` out.
    pub fn remove(&mut self, id: &K) -> Option<V> {
        self.slots.get_mut(id.slot()?)?.take()
    }

    /// Every value, in id order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.slots.iter().flatten()
    }

    /// Every value, in id order.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.slots.iter_mut().flatten()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod tests {
    use super::*;
    use crate::net::core::dev::{DeviceKind, NetDevice};

    fn lo(id: u64) -> NetDevice {
        NetDevice::new(
            DevId(id),
            NetNsId(0),
            format!("lo{id}"),
            DeviceKind::Loopback,
            (1, 1),
            (1, 1),
        )
    }

    #[test]
    fn lookup_insert_remove_and_id_order() {
        let mut t = IdTable::<DevId, NetDevice>::default();
        assert!(t.get(&DevId(3)).is_none());
        assert!(t.insert(DevId(5), lo(5)).is_none());
        assert!(t.insert(DevId(2), lo(2)).is_none());
        assert!(t.insert(DevId(9), lo(9)).is_none());
        assert_eq!(t.get(&DevId(5)).unwrap().name, "lo5");
        assert!(!t.contains_key(&DevId(4)));
        assert!(t.contains_key(&DevId(9)));
        t.get_mut(&DevId(2)).unwrap().mtu = 9000;
        assert_eq!(t.get(&DevId(2)).unwrap().mtu, 9000);
        assert_eq!(t.remove(&DevId(5)).unwrap().name, "lo5");
        assert!(t.remove(&DevId(5)).is_none());
        assert!(t.get(&DevId(u64::MAX)).is_none());
        let names: Vec<&str> = t.values().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["lo2", "lo9"]);
    }
}
