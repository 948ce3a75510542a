// One private endpoint for one sub-resource (a private endpoint serves exactly one group id: blob, dfs or
// vault), with its private DNS zone group when a zone is given. Without a zone id the record is left to the
// hub's own DNS automation (for example an Azure Policy that creates zone groups), as many landing zones do.

@description('Name of the private endpoint.')
param name string

@description('Azure region of the private endpoint (the region of the subnet).')
param location string

@description('Tags applied to the private endpoint.')
param tags object

@description('Resource id of the subnet that holds the network interface of the endpoint.')
param subnetId string

@description('Resource id of the storage account or key vault the endpoint connects to.')
param targetResourceId string

@description('The sub-resource the endpoint serves: blob, dfs or vault.')
@allowed([
  'blob'
  'dfs'
  'vault'
])
param groupId string

@description('Resource id of the private DNS zone for this group id (privatelink.<group>.…); empty: no zone group.')
param privateDnsZoneId string = ''

resource endpoint 'Microsoft.Network/privateEndpoints@2023-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    subnet: {
      id: subnetId
    }
    privateLinkServiceConnections: [
      {
        name: name
        properties: {
          privateLinkServiceId: targetResourceId
          groupIds: [
            groupId
          ]
        }
      }
    ]
  }
}

resource dnsZoneGroup 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2023-11-01' = if (!empty(privateDnsZoneId)) {
  parent: endpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: groupId
        properties: {
          privateDnsZoneId: privateDnsZoneId
        }
      }
    ]
  }
}

@description('Resource id of the private endpoint.')
output id string = endpoint.id
