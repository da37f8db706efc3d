//! Every registered device, by [`DevId`].
//!
//! Kernel: the role of the netdevice lookup tables (`net->dev_by_index`, an xarray since
//! 6.8). Ids are handed out in increasing order and never reused, so a vector indexed by id
//! is both the lookup (the data path does several per frame) and the walk in id order.

use crate::net::core::dev::{DevId, NetDevice};

/// Devices indexed by id; unregistered ones leave an empty slot.
#[derive(Debug, Default)]
pub struct DevTable {
    slots: Vec<Option<NetDevice>>,
}

impl DevTable {
    fn slot(id: &DevId) -> Option<usize> {
        usize::try_from(id.0).ok()
    }

    /// The device `id`, if registered.
    pub fn get(&self, id: &DevId) -> Option<&NetDevice> {
        self.slots.get(Self::slot(id)?)?.as_ref()
    }

    /// The device `id`, if registered.
    pub fn get_mut(&mut self, id: &DevId) -> Option<&mut NetDevice> {
        self.slots.get_mut(Self::slot(id)?)?.as_mut()
    }

    /// Whether `id` is registered.
    pub fn contains_key(&self, id: &DevId) -> bool {
        self.get(id).is_some()
    }

    /// Registers `dev` as `id`, returning a device that had the id before.
    pub fn insert(&mut self, id: DevId, dev: NetDevice) -> Option<NetDevice> {
        let i = Self::slot(&id)?;
        if self.slots.len() <= i {
            self.slots.resize_with(i + 1, || None);
        }
        self.slots[i].replace(dev)
    }

    /// Unregisters `id`.
    pub fn remove(&mut self, id: &DevId) -> Option<NetDevice> {
        self.slots.get_mut(Self::slot(id)?)?.take()
    }

    /// Every device, in id order.
    pub fn values(&self) -> impl Iterator<Item = &NetDevice> {
        self.slots.iter().flatten()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod tests {
    use super::*;
    use crate::net::core::dev::DeviceKind;
    use crate::net::core::net_namespace::NetNsId;

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
        let mut t = DevTable::default();
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
