"""Real 3D shapes for point-cloud queries: the class-to-mesh table, Sweet Home 3D catalogs and the mesh bank."""
