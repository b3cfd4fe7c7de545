//! What each service keeps in memory only, one value per type, so that the types stay in the services that own
//! them (fault rules in `faults`, sign-ins in `entra`, deployments in `arm`) and `state` depends on none of them.

use std::any::{Any, TypeId};
use std::collections::HashMap;

/// One value per type, created with `Default` on first use (the pattern of `http::Extensions`).
#[derive(Default)]
pub(crate) struct ServiceData(HashMap<TypeId, Box<dyn Any + Send>>);

impl ServiceData {
    /// The value of type `T`, if it was ever used (reads that find none see what an empty value would say).
    pub(crate) fn get<T: 'static>(&self) -> Option<&T> {
        self.0
            .get(&TypeId::of::<T>())
            .and_then(|value| value.downcast_ref::<T>())
    }

    /// The value of type `T`, created empty on first use.
    pub(crate) fn get_mut<T: Default + Send + 'static>(&mut self) -> &mut T {
        self.0
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Box::new(T::default()))
            .downcast_mut::<T>()
            .expect("each slot holds a value of the type it is keyed by")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_has_its_own_value_kept_between_calls() {
        let mut data = ServiceData::default();
        data.get_mut::<Vec<u32>>().push(7);
        *data.get_mut::<String>() = "x".to_string();
        assert_eq!(data.get_mut::<Vec<u32>>(), &vec![7]);
        assert_eq!(data.get_mut::<String>(), "x");
        assert_eq!(data.get::<Vec<u32>>(), Some(&vec![7]));
        assert_eq!(data.get::<u8>(), None);
    }
}
