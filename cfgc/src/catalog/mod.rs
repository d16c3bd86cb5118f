//! Static descriptions of Kamailio's core parameters, core actions, modules,
//! module functions, module parameters, PVs and transformations.
