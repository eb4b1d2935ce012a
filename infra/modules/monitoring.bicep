// Monitoring: Log Analytics, workspace-based Application Insights (Entra-only ingestion), an Azure Monitor
// private link scope so ingestion stays on the private network, and the chargeback workbook.
//
// Queries: private only by default. With publicQueryAccess the workspace and the component accept queries
// from public networks (still Entra-authenticated, local auth stays off), so an operator can open the
// workbook and customEvents from a laptop; ingestion stays private either way. The scope's
// queryAccessMode stays PrivateOnly: it only governs networks connected through the scope.

param logAnalyticsName string
param appInsightsName string
param privateLinkScopeName string
param workbookDisplayName string = 'Azure OpenAI chargeback'
param location string
param tags object = {}

param privateEndpointSubnetId string

@description('Allow Entra-authenticated queries from public networks on the workspace and App Insights.')
param publicQueryAccess bool = false

@description('The deploying user (azd AZURE_PRINCIPAL_ID); empty grants nothing. Gets Log Analytics Reader on the workspace and the component.')
param deployerPrincipalId string = ''

@description('privatelink.monitor.azure.com, oms, ods, agentsvc and blob zones (order does not matter).')
param monitorDnsZoneIds array

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
    publicNetworkAccessForIngestion: 'Disabled'
    publicNetworkAccessForQuery: publicQueryAccess ? 'Enabled' : 'Disabled'
    features: {
      disableLocalAuth: true
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
    publicNetworkAccessForIngestion: 'Disabled'
    publicNetworkAccessForQuery: publicQueryAccess ? 'Enabled' : 'Disabled'
    IngestionMode: 'LogAnalytics'
  }
}

// Log Analytics Reader (read-only: */read and queries, no shared keys).
var logAnalyticsReader = '73c42c96-874c-492b-b04d-ab87d138a893'

// The operator who deployed reads the usage: queries on the workspace (workbook, Kusto queries).
resource deployerWorkspaceReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(workspace.id, deployerPrincipalId, logAnalyticsReader)
  scope: workspace
  properties: {
    principalId: deployerPrincipalId
    principalType: 'User'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', logAnalyticsReader)
  }
}

// ... and on the component, where the workbook and customEvents are queried.
resource deployerAppInsightsReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(appInsights.id, deployerPrincipalId, logAnalyticsReader)
  scope: appInsights
  properties: {
    principalId: deployerPrincipalId
    principalType: 'User'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', logAnalyticsReader)
  }
}

resource privateLinkScope 'Microsoft.Insights/privateLinkScopes@2021-07-01-preview' = {
  name: privateLinkScopeName
  location: 'global'
  tags: tags
  properties: {
    accessModeSettings: {
      ingestionAccessMode: 'PrivateOnly'
      queryAccessMode: 'PrivateOnly'
    }
  }

  resource workspaceScope 'scopedResources' = {
    name: 'scoped-${logAnalyticsName}'
    properties: { linkedResourceId: workspace.id }
  }

  resource appInsightsScope 'scopedResources' = {
    name: 'scoped-${appInsightsName}'
    properties: { linkedResourceId: appInsights.id }
  }
}

module privateEndpoint 'private-endpoint.bicep' = {
  name: 'pe-${privateLinkScopeName}'
  params: {
    name: 'pe-${privateLinkScopeName}'
    location: location
    tags: tags
    subnetId: privateEndpointSubnetId
    privateLinkServiceId: privateLinkScope.id
    groupId: 'azuremonitor'
    privateDnsZoneIds: monitorDnsZoneIds
  }
}

// Tokens and cost per consumer and per model over time, from the "Azure OpenAI Tokens" custom events.
resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, appInsightsName, 'chargeback-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: workbookDisplayName
    category: 'workbook'
    sourceId: appInsights.id
    serializedData: loadTextContent('../workbooks/chargeback.workbook.json')
  }
}

output appInsightsName string = appInsights.name
output appInsightsId string = appInsights.id
output workspaceId string = workspace.id
// The workspace (customer) id `az monitor log-analytics query --workspace` takes.
output workspaceCustomerId string = workspace.properties.customerId
// The connection string is an ingestion endpoint plus an instrumentation key that cannot be used on its
// own because local auth is disabled; it is handed to the Function App as a setting, never as an output
// of the deployment.
